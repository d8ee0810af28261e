//! Parameters of the 97012 / therapy rules (`data/therapy/therapy-97012.toml`) and the
//! therapy KX modifier thresholds (`data/therapy/kx-thresholds.csv`).

use serde::Deserialize;

use crate::model::Cents;

use super::fees::{expect_header, fields_n, parse_cents, parse_year};
use super::ReferenceError;

/// `[codes]`: the codes the 97012 rules are about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeParams {
    /// Mechanical traction, `97012`.
    pub traction: String,
    /// Hot/cold packs `97010` (T97010-BUNDLED).
    pub hot_cold_packs: String,
    /// Unattended electrical stimulation CPT code `97014` (T97014-MEDICARE).
    pub estim_unattended_cpt: String,
    /// The Medicare code to bill instead, `G0283`.
    pub estim_unattended_medicare: String,
    /// Vertebral axial decompression `S9090` (T97012-DEVICE).
    pub decompression: String,
    /// Evaluations that raise no finding with 97012 on the same day.
    pub evaluations_allowed_same_day: Vec<String>,
    /// Chiropractic manipulative treatment codes (T97012-CMT, T97012-STANDALONE).
    pub cmt: Vec<String>,
    /// Manual therapy `97140` (T97012-NCCI-97140).
    pub manual_therapy: String,
}

/// `[units]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitParams {
    /// T97012-UNITS: maximum units of 97012 on one line.
    pub traction_max_units_per_line: u32,
}

/// `[standalone]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandaloneParams {
    /// T97012-STANDALONE: 97012 should come with one of these on the same day.
    pub therapeutic_procedures: Vec<String>,
}

/// `[modalities]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModalityParams {
    /// Lowest code of the supervised/attended modality range (inclusive).
    pub range_low: String,
    /// Highest code of the range (inclusive).
    pub range_high: String,
    /// Further codes counted as modalities (`G0283`).
    pub extra: Vec<String>,
    /// T97012-MODALITIES: warn above this many modalities per day.
    pub max_per_day: u32,
    /// For reference only: the codes of the range found in the CMS RVU files.
    pub codes_in_range_in_rvu_files: Vec<String>,
}

impl ModalityParams {
    /// True when `code` is in `range_low..=range_high` (codes of the same length, compared
    /// as text) or in `extra`.
    pub fn is_modality(&self, code: &str) -> bool {
        let code = code.trim();
        (code.len() == self.range_low.len()
            && self.range_low.as_str() <= code
            && code <= self.range_high.as_str())
            || self.extra.iter().any(|e| e.eq_ignore_ascii_case(code))
    }
}

/// `[visits]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitParams {
    /// T97012-VISITS: warn above this many dates of 97012 for one patient.
    pub max_dates_per_patient: u32,
}

/// `[modifiers]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifierParams {
    /// T97012-THERAPY-MOD: one of these (GP, GO, GN) is required.
    pub therapy_discipline: Vec<String>,
    /// T97012-NCCI-97140: modifiers that bypass the edit, on the 97140 line.
    pub ncci_bypass: Vec<String>,
    /// T97012-CHIRO-MEDICARE: any one of these satisfies the rule.
    pub medicare_liability: Vec<String>,
    /// T97012-DEVICE: S9090 to Medicare needs this modifier.
    pub decompression_required: String,
    /// T97012-MOD51: modifiers to remove from 97012.
    pub remove_from_traction: Vec<String>,
    /// T97012-KX: the KX modifier.
    pub kx: String,
    /// T97012-THERAPY-MOD: no repair when a line already has this many modifiers.
    pub max_modifiers_per_line: u32,
    /// PT assistant modifier (only with GP).
    pub assistant_pt: String,
    /// OT assistant modifier (only with GO).
    pub assistant_ot: String,
}

/// `[taxonomy]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyParams {
    /// Occupational therapist taxonomy prefix (`225X`).
    pub occupational_therapy_prefix: String,
    /// Modifier for an occupational therapist (`GO`).
    pub occupational_therapy_modifier: String,
    /// Speech-language pathologist taxonomy prefix (`235Z`).
    pub speech_language_prefix: String,
    /// Modifier for a speech-language pathologist (`GN`).
    pub speech_language_modifier: String,
    /// Modifier for anyone else (`GP`).
    pub default_modifier: String,
    /// Chiropractor taxonomy prefix (`111N`, T97012-CHIRO-MEDICARE).
    pub chiropractor_prefix: String,
}

impl TaxonomyParams {
    /// The discipline modifier for a rendering taxonomy code.
    pub fn discipline_modifier(&self, taxonomy: &str) -> &str {
        let t = taxonomy.trim();
        if t.starts_with(self.occupational_therapy_prefix.as_str()) {
            &self.occupational_therapy_modifier
        } else if t.starts_with(self.speech_language_prefix.as_str()) {
            &self.speech_language_modifier
        } else {
            &self.default_modifier
        }
    }
}

/// `[kx]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KxParams {
    /// Lines with these modifiers count toward the PT/SLP total.
    pub pt_slp_modifiers: Vec<String>,
    /// Lines with these modifiers count toward the OT total.
    pub ot_modifiers: Vec<String>,
}

/// `[device]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceParams {
    /// T97012-DEVICE: note keywords (case-insensitive substrings) that suggest a device.
    pub note_keywords: Vec<String>,
}

/// `therapy-97012.toml`: every table and key, unknown keys refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TherapyParams {
    /// `[codes]`.
    pub codes: CodeParams,
    /// `[units]`.
    pub units: UnitParams,
    /// `[standalone]`.
    pub standalone: StandaloneParams,
    /// `[modalities]`.
    pub modalities: ModalityParams,
    /// `[visits]`.
    pub visits: VisitParams,
    /// `[modifiers]`.
    pub modifiers: ModifierParams,
    /// `[taxonomy]`.
    pub taxonomy: TaxonomyParams,
    /// `[kx]`.
    pub kx: KxParams,
    /// `[device]`.
    pub device: DeviceParams,
}

impl TherapyParams {
    /// Parses the TOML; errors give the line of the offending key or value.
    pub fn parse(file: &str, text: &str) -> Result<TherapyParams, ReferenceError> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            ReferenceError::invalid(
                file,
                line,
                format!(
                    "the therapy parameters layout (see data/therapy/README.md): {}",
                    e.message()
                ),
            )
        })
    }
}

/// One year's therapy thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KxYear {
    /// Calendar year.
    pub year: i32,
    /// KX modifier threshold (PT/SLP combined; the same amount again for OT).
    pub kx: Cents,
    /// Targeted medical-review threshold.
    pub targeted_review: Cents,
}

/// KX thresholds by calendar year.
#[derive(Debug, Clone, Default)]
pub struct KxThresholds {
    /// Ascending by year.
    years: Vec<KxYear>,
}

impl KxThresholds {
    /// Parses `year,kx_threshold_cents,targeted_review_threshold_cents` rows after `#`
    /// comments and the header. A year may appear once.
    pub fn parse(file: &str, text: &str) -> Result<KxThresholds, ReferenceError> {
        let mut years: Vec<KxYear> = Vec::new();
        for (line, content) in expect_header(
            file,
            text,
            "year,kx_threshold_cents,targeted_review_threshold_cents",
        )? {
            let f = fields_n(file, line, &content, 3)?;
            let year = parse_year(file, line, &f[0])?;
            let kx = parse_cents(file, line, "kx_threshold_cents", &f[1])?;
            let targeted_review =
                parse_cents(file, line, "targeted_review_threshold_cents", &f[2])?;
            if years.iter().any(|y| y.year == year) {
                return Err(ReferenceError::invalid(
                    file,
                    line,
                    format!("each year once, found {year} again"),
                ));
            }
            years.push(KxYear {
                year,
                kx,
                targeted_review,
            });
        }
        years.sort_by_key(|y| y.year);
        Ok(KxThresholds { years })
    }

    /// The KX threshold of exactly `year` (no fallback: a missing year is for the caller to
    /// report).
    pub fn for_year(&self, year: i32) -> Option<Cents> {
        self.year(year).map(|y| y.kx)
    }

    /// Both thresholds of exactly `year`.
    pub fn year(&self, year: i32) -> Option<&KxYear> {
        self.years.iter().find(|y| y.year == year)
    }

    /// The latest year listed.
    pub fn latest(&self) -> Option<&KxYear> {
        self.years.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLED: &str = include_str!("../../data/therapy/therapy-97012.toml");

    #[test]
    fn therapy_params_parse_and_refuse_unknown_keys() {
        let p = TherapyParams::parse("t.toml", BUNDLED).unwrap();
        assert_eq!(p.codes.traction, "97012");
        assert_eq!(p.units.traction_max_units_per_line, 1);
        assert!(p.modalities.is_modality("97012"));
        assert!(p.modalities.is_modality("97039"));
        assert!(p.modalities.is_modality("g0283"));
        assert!(!p.modalities.is_modality("97110"));
        assert!(!p.modalities.is_modality("9701"));
        assert_eq!(p.taxonomy.discipline_modifier("225X00000X"), "GO");
        assert_eq!(p.taxonomy.discipline_modifier("235Z00000X"), "GN");
        assert_eq!(p.taxonomy.discipline_modifier("225100000X"), "GP");

        let extra = BUNDLED.replace("[visits]\n", "[visits]\nmax_visits = 3\n");
        let err = TherapyParams::parse("t.toml", &extra).unwrap_err();
        let line = extra.lines().position(|l| l == "max_visits = 3").unwrap() + 1;
        assert_eq!(err.line(), Some(line), "{err}");
        assert!(err.to_string().contains("max_visits"), "{err}");

        let missing = BUNDLED.replace("max_per_day = 2\n", "");
        let err = TherapyParams::parse("t.toml", &missing).unwrap_err();
        assert!(err.to_string().contains("max_per_day"), "{err}");

        let wrong = BUNDLED.replace("max_per_day = 2", "max_per_day = \"two\"");
        let err = TherapyParams::parse("t.toml", &wrong).unwrap_err();
        let line = wrong
            .lines()
            .position(|l| l.starts_with("max_per_day"))
            .unwrap()
            + 1;
        assert_eq!(err.line(), Some(line), "{err}");
    }

    #[test]
    fn kx_thresholds_parse() {
        let kx = KxThresholds::parse(
            "k.csv",
            "# c\nyear,kx_threshold_cents,targeted_review_threshold_cents\n2026,248000,300000\n2025,241000,300000\n",
        )
        .unwrap();
        assert_eq!(kx.for_year(2026), Some(Cents(248_000)));
        assert_eq!(kx.for_year(2027), None);
        assert_eq!(kx.year(2025).unwrap().targeted_review, Cents(300_000));
        assert_eq!(kx.latest().unwrap().year, 2026);
        for (row, expected) in [
            ("2026,2480.00,300000", "kx_threshold_cents"),
            ("2026,248000", "3 comma-separated"),
            ("x,248000,300000", "year"),
            ("2025,1,1", "again"),
        ] {
            let err = KxThresholds::parse(
                "k.csv",
                &format!("year,kx_threshold_cents,targeted_review_threshold_cents\n2025,241000,300000\n{row}\n"),
            )
            .unwrap_err();
            assert_eq!(err.line(), Some(3), "{row}: {err}");
            assert!(err.to_string().contains(expected), "{row}: {err}");
        }
    }
}
