//! Any UTF-8 as a SCIM PATCH path: parsing never panics, and whatever parses prints
//! canonically and parses back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::parse_path;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = parse_path(input) else {
        return;
    };
    let printed = path.to_string();
    match parse_path(&printed) {
        Ok(again) => assert_eq!(again, path, "{input:?} printed as {printed:?}"),
        Err(e) => panic!(
            "{input:?} printed as {printed:?}, which fails: {}",
            e.detail
        ),
    }
});
