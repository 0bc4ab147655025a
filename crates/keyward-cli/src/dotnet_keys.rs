//! Where ASP.NET Core keeps its keys when an app configures no key storage, found in .NET's
//! own order (`--dotnet-default-keys`), with the reason for the choice (`doctor` shows it):
//!
//! 1. Azure App Service (`WEBSITE_INSTANCE_ID` set, and `HOME`): `$HOME/ASP.NET/DataProtection-Keys`
//!    (`%HOME%\ASP.NET\DataProtection-Keys` on Windows plans), persisted and shared by the
//!    app's instances;
//! 2. the user profile: on Windows the local application data folder; elsewhere `LOCALAPPDATA`,
//!    then `USERPROFILE` (`AppData/Local`), each + `ASP.NET/DataProtection-Keys`, then
//!    `$HOME/.aspnet/DataProtection-Keys`;
//! 3. otherwise .NET keeps keys in the Windows registry (an IIS app pool without a loaded
//!    profile) or in memory only: neither is in keyward's reach.
//!
//! One difference on purpose: an empty variable counts as unset here, where .NET would build
//! a folder relative to its working directory from it.

use std::ffi::OsString;
use std::path::PathBuf;

/// Why .NET would pick the folder it picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultKeysSource {
    /// Azure App Service: `WEBSITE_INSTANCE_ID` and `HOME` are set.
    AppService,
    /// Windows: the local application data folder of the user profile.
    WindowsLocalAppData,
    /// The `LOCALAPPDATA` variable (read on every platform).
    LocalAppDataVariable,
    /// The `USERPROFILE` variable (`AppData/Local` under it).
    UserProfileVariable,
    /// `HOME` (Linux, macOS).
    Home,
}

impl DefaultKeysSource {
    /// One line for the operator: why .NET uses this folder.
    pub fn reason(self) -> &'static str {
        match self {
            Self::AppService => "WEBSITE_INSTANCE_ID is set (Azure App Service), so .NET keeps keys under %HOME%, the persisted storage every instance shares",
            Self::WindowsLocalAppData => "Windows with a loaded user profile: .NET keeps keys in its local application data folder",
            Self::LocalAppDataVariable => "LOCALAPPDATA is set, which .NET reads before USERPROFILE and HOME",
            Self::UserProfileVariable => "USERPROFILE is set (and LOCALAPPDATA is not), which .NET reads before HOME",
            Self::Home => "no App Service, LOCALAPPDATA or USERPROFILE variable: .NET keeps keys under $HOME/.aspnet",
        }
    }
}

/// The folder .NET would use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultKeysFolder {
    /// The key folder.
    pub directory: PathBuf,
    /// Why .NET picks it.
    pub source: DefaultKeysSource,
}

/// Why no folder: .NET's remaining fallbacks are out of keyward's reach.
pub const NO_FOLDER: &str = "no App Service HOME, LOCALAPPDATA, USERPROFILE or HOME is set: .NET would keep its keys in the Windows registry (an IIS app pool without a loaded profile) or in memory only, and keyward can read neither";

/// .NET's choice for the real environment.
pub fn locate() -> Result<DefaultKeysFolder, &'static str> {
    locate_in(
        |name| std::env::var_os(name),
        cfg!(windows),
        dirs::data_local_dir(),
    )
}

/// .NET's choice for an environment given by `var` (`windows`: the platform; the local
/// application data folder Windows reports).
pub fn locate_in(
    var: impl Fn(&str) -> Option<OsString>,
    windows: bool,
    windows_local_app_data: Option<PathBuf>,
) -> Result<DefaultKeysFolder, &'static str> {
    let keys_under = |base: PathBuf| base.join("ASP.NET").join("DataProtection-Keys");
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if set("WEBSITE_INSTANCE_ID").is_some() {
        if let Some(home) = set("HOME") {
            return Ok(DefaultKeysFolder {
                directory: keys_under(PathBuf::from(home)),
                source: DefaultKeysSource::AppService,
            });
        }
    }
    let found = |directory, source| Ok(DefaultKeysFolder { directory, source });
    if windows {
        if let Some(base) = windows_local_app_data.filter(|p| !p.as_os_str().is_empty()) {
            return found(keys_under(base), DefaultKeysSource::WindowsLocalAppData);
        }
    }
    if let Some(base) = set("LOCALAPPDATA") {
        return found(
            keys_under(PathBuf::from(base)),
            DefaultKeysSource::LocalAppDataVariable,
        );
    }
    if let Some(profile) = set("USERPROFILE") {
        return found(
            keys_under(PathBuf::from(profile).join("AppData").join("Local")),
            DefaultKeysSource::UserProfileVariable,
        );
    }
    if let Some(home) = set("HOME") {
        return found(
            PathBuf::from(home)
                .join(".aspnet")
                .join("DataProtection-Keys"),
            DefaultKeysSource::Home,
        );
    }
    Err(NO_FOLDER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn follows_dotnets_order() {
        let linux = |vars| locate_in(with(vars), false, None);
        let app_service = linux(&[("WEBSITE_INSTANCE_ID", "abc"), ("HOME", "/home")]).unwrap();
        assert_eq!(app_service.source, DefaultKeysSource::AppService);
        assert_eq!(
            app_service.directory,
            PathBuf::from("/home/ASP.NET/DataProtection-Keys")
        );
        // App Service wins over every user-profile variable.
        let both = linux(&[
            ("WEBSITE_INSTANCE_ID", "abc"),
            ("HOME", "/home"),
            ("LOCALAPPDATA", "/l"),
        ])
        .unwrap();
        assert_eq!(both.source, DefaultKeysSource::AppService);
        // Without HOME, App Service falls through to the profile.
        let no_home = linux(&[("WEBSITE_INSTANCE_ID", "abc"), ("USERPROFILE", "/u")]).unwrap();
        assert_eq!(no_home.source, DefaultKeysSource::UserProfileVariable);
        assert_eq!(
            no_home.directory,
            PathBuf::from("/u/AppData/Local/ASP.NET/DataProtection-Keys")
        );
        let local = linux(&[
            ("LOCALAPPDATA", "/l"),
            ("USERPROFILE", "/u"),
            ("HOME", "/h"),
        ])
        .unwrap();
        assert_eq!(local.source, DefaultKeysSource::LocalAppDataVariable);
        let home = linux(&[("HOME", "/h")]).unwrap();
        assert_eq!(
            home.directory,
            PathBuf::from("/h/.aspnet/DataProtection-Keys")
        );
        assert_eq!(home.source, DefaultKeysSource::Home);
        assert_eq!(linux(&[]), Err(NO_FOLDER));
        assert_eq!(linux(&[("HOME", "")]), Err(NO_FOLDER));
    }

    #[test]
    fn windows_uses_its_local_application_data_folder_first() {
        let found = locate_in(
            with(&[("LOCALAPPDATA", "/other"), ("HOME", "/h")]),
            true,
            Some(PathBuf::from("/win/local")),
        )
        .unwrap();
        assert_eq!(found.source, DefaultKeysSource::WindowsLocalAppData);
        assert_eq!(
            found.directory,
            PathBuf::from("/win/local/ASP.NET/DataProtection-Keys")
        );
    }
}
