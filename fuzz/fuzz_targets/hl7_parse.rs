//! Fuzz target: `split_messages` + `Message::parse` on arbitrary bytes, then read every field,
//! repetition, component and subcomponent value, and parse a few timestamp fields. Also checks
//! invariants the rest of the pipeline relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/hl7/mod.rs"]
mod hl7;

fn check(msg: &hl7::Message<'_>) {
    let mut segments = msg.segments();
    let first = segments.next().expect("a parsed message has an MSH");
    assert!(first.id().eq_ignore_ascii_case("MSH"));
    // Indexed access is cross-checked against iteration for the first few items only, so a
    // run stays linear in the input size.
    const CROSS_CHECK: usize = 4;
    for (n, seg) in msg.segments().enumerate() {
        let id = seg.id();
        assert_eq!(id.len(), 3);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        if n < CROSS_CHECK {
            assert!(msg.segment(id).is_some());
            let _ = format!("{seg:?}");
        }
        let count = seg.field_count();
        assert!(seg.field(count + 1).is_empty());
        for field in seg.fields() {
            let _ = field.value();
            let _ = field.is_null();
            assert_eq!(field.repetitions().count(), field.repetition_count());
            for (i, rep) in field.repetitions().enumerate() {
                if i < CROSS_CHECK {
                    assert_eq!(rep.raw(), field.repetition(i).raw());
                }
                let _ = rep.value();
                for (j, comp) in rep.components().enumerate() {
                    if j < CROSS_CHECK {
                        assert_eq!(comp.raw(), rep.component(j + 1).raw());
                    }
                    let _ = comp.value();
                    for (k, sub) in comp.subcomponents().enumerate() {
                        if k < CROSS_CHECK {
                            assert_eq!(sub.raw(), comp.subcomponent(k + 1).raw());
                        }
                        if let Some(v) = sub.value() {
                            // Escaping a decoded value and decoding it again gives it back.
                            let d = msg.delimiters();
                            if d.escape.is_some() {
                                let again = hl7::escape(&v, d);
                                assert_eq!(hl7::unescape(again.as_bytes(), d), v);
                            }
                        }
                    }
                }
            }
        }
    }
    for (seg, field) in [
        ("MSH", 7),
        ("EVN", 2),
        ("EVN", 6),
        ("PID", 7),
        ("PV1", 44),
        ("PV1", 45),
    ] {
        if let Some(v) = msg.segment(seg).and_then(|s| s.value(field, 1)) {
            if let Ok(ts) = hl7::Timestamp::parse(&v) {
                let _ = ts.epoch_seconds();
                assert!((1..=12).contains(&ts.month) && (1..=31).contains(&ts.day));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let messages = hl7::split_messages(data);
    let _ = messages.count_mismatches();
    for item in messages {
        match hl7::Message::parse(item) {
            Ok(msg) => check(&msg),
            Err(e) => {
                let _ = e.to_string();
                let _ = e.kind.as_str();
            }
        }
    }
    if let Ok(msg) = hl7::Message::parse(data) {
        check(&msg);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = hl7::Timestamp::parse(s);
    }
});
