#![no_main]
//! The default inspection after parsing — built-in signatures (their matcher's value
//! dedup, repeats, GraphQL and base64 views), the body-parse and method detectors and the
//! built-in classifier — on requests parsed from arbitrary bytes: must never panic, and
//! a request inspected twice gets the same verdict.
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use palisade_engine::{BlockedMethods, BodyParseErrors, Detector, Engine, Policy};
use palisade_ml::{default_model, MlDetector, MlOptions};
use palisade_rules::{SignatureDetector, SignatureSet};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let set = SignatureSet::builtin().expect("built-in signatures load");
        let model = default_model().expect("built-in model loads");
        let options = MlOptions::for_model(&model);
        let detectors: Vec<Arc<dyn Detector>> = vec![
            Arc::new(SignatureDetector::new(set)),
            Arc::new(BodyParseErrors),
            Arc::new(BlockedMethods::new(&["TRACE".to_string()])),
            Arc::new(MlDetector::new(Arc::new(model), options)),
        ];
        Engine::new(detectors, Policy::default())
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok((mut model, body)) = palisade_http::raw::parse_request(data) {
        model.attach_body(body, false);
        let first = engine().inspect_request(&model);
        let again = engine().inspect_request(&model);
        assert_eq!(first.score, again.score);
        assert_eq!(first.findings.len(), again.findings.len());
    }
});
