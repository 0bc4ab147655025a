//! `web.config` files: `MachineKeyConfig::parse` on arbitrary text, then every accessor and
//! the keys it describes. Never panics.
#![no_main]

use keyward_machinekey::MachineKeyConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = MachineKeyConfig::parse(&text) {
        let _ = config.validation();
        let _ = config.decryption();
        let _ = config.compatibility_mode();
        let _ = config.keys();
    }
});
