//! Lists CRS rules that the literal prefilter cannot skip (engine development aid):
//! `cargo run -p palisade-seclang --example slots -- CRS_DIR`
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/crs".into());
    let rules = palisade_seclang::CrsLoad {
        dir: dir.into(),
        ..Default::default()
    }
    .load()
    .unwrap_or_else(|e| panic!("{e}"));
    let (mut with, mut without) = (0, 0);
    for r in rules.rules() {
        if r.slot.is_some() {
            with += 1;
        } else {
            without += 1;
            let targets: Vec<String> = r.targets.iter().map(|t| t.describe()).collect();
            println!("{} @{} {}", r.id, r.operator.name, targets.join("|"));
        }
    }
    println!("skippable {with}, always evaluated {without}");
}
