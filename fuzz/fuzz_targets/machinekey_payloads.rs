//! Classic ASP.NET payloads under fixed `<machineKey>`s in every compatibility mode: forms
//! tickets (`forms_ticket::decrypt` and `FormsAuthenticationTicket::deserialize`), ViewState
//! (`viewstate::decode`, with and without a generator) and `MachineKey.Protect` payloads
//! (`framework45::unprotect`). Never panics; whatever opens was made with the keys.
#![no_main]

use keyward_machinekey::viewstate::{self, Page};
use keyward_machinekey::{
    forms_ticket, framework45, CompatibilityMode, FormsAuthenticationTicket, MachineKeys, Purpose,
};
use libfuzzer_sys::fuzz_target;

fn keys(mode: CompatibilityMode) -> MachineKeys {
    MachineKeys::from_hex(
        "HMACSHA256",
        "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90",
        "AES",
        "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0",
        mode,
    )
    .expect("fixed keys")
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = FormsAuthenticationTicket::deserialize(data);
    for mode in [
        CompatibilityMode::Framework20SP1,
        CompatibilityMode::Framework20SP2,
        CompatibilityMode::Framework45,
    ] {
        let keys = keys(mode);
        let _ = forms_ticket::decrypt(&keys, &text);
        let pages = [
            Page {
                generator: Some(0xEDD8_C9AE),
                ..Page::default()
            },
            Page {
                template_source_directory: Some("/".into()),
                page_type: Some("DEFAULT_ASPX".into()),
                view_state_user_key: Some("user".into()),
                generator: Some(0xEDD8_C9AE),
            },
        ];
        for page in &pages {
            let _ = viewstate::decode(&keys, page, &text);
        }
        let purpose = Purpose::new(Purpose::MACHINE_KEY_PROTECT, vec!["fuzz".into()]);
        let _ = framework45::unprotect(&keys, &purpose, data);
    }
});
