//! The JSON shape of a claim for `scrub837 parse` (one object per line, `"type": "claim"`).

use serde_json::{json, Value};

use super::Claim;

/// Turns a claim into its JSON record. Unless `show_phi` is set, the subscriber's and
/// patient's names, member ids, birth dates and addresses are left out.
pub fn claim_record(claim: &Claim, show_phi: bool) -> Value {
    let mut value = serde_json::to_value(claim).unwrap_or(Value::Null);
    if !show_phi {
        for level in ["subscriber", "patient"] {
            if let Some(Value::Object(map)) = value.get_mut(level) {
                map.remove("person");
            }
        }
    }
    json!({ "type": "claim", "claim": value })
}
