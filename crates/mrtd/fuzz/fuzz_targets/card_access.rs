//! EF.CardAccess / SecurityInfos parser, DG14, EF.CardSecurity, and PACE setup from the
//! PACEInfos found.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(infos) = mrtd::security_info::parse_security_infos(data) {
        for info in mrtd::security_info::pace_infos(&infos) {
            let _ = info.protocol.dotted();
            let password = mrtd::pace::PacePassword::Can("123456".into());
            let _ = mrtd::pace::mse_set_at(&info, &password, true).to_bytes();
            let _ = mrtd::pace::PaceTerminal::new(&info, &password);
        }
    }
    let _ = mrtd::lds::Dg14::parse(data);
    if let Ok(cs) = mrtd::lds::CardSecurity::parse(data) {
        for id in [12, 13, 15, 16] {
            let _ = cs.chip_public_key(id);
        }
    }
});
