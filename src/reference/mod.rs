//! Reference data for the rule engine: ICD-10-CM editions, the Medicare fee schedule, NCCI
//! procedure-to-procedure edits and MUE values, place-of-service codes, the diagnoses that
//! support traction, and the therapy rule parameters.
//!
//! Everything under `data/` is compiled into the binary ([`Reference::bundled`]); official
//! CMS NCCI and MUE files can be added at run time ([`Reference::with_files`]) and take
//! precedence over the bundled seeds. Every loader returns a [`ReferenceError`] naming the
//! file and line instead of panicking.
//!
//! ```
//! use chrono::NaiveDate;
//! use scrub837::reference::Reference;
//!
//! let reference = Reference::bundled();
//! let dos = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
//! let choice = reference.icd.edition_for(dos);
//! assert_eq!(choice.edition.fiscal_year, 2026);
//! assert!(choice.edition.is_billable("M54.50"));
//! assert!(!choice.edition.is_billable("M545"));
//! assert_eq!(reference.fees.amount(2026, "97012", false).map(|c| c.0), Some(1436));
//! ```

mod dx;
mod fees;
mod fx;
pub mod icd;
mod mue;
mod ncci;
mod pos;
pub mod store;
pub mod taxonomy;
mod text;
mod therapy;
mod used;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use dx::DxPrefixes;
pub use fees::{FeeAmount, FeeIndicators, FeeRow, FeeSchedule};
pub use icd::{CodeStatus, EditionChoice, IcdCodeSets, IcdEdition};
pub use mue::{Mue, MueEdition, MueTable};
pub use ncci::{CodeKey, EditSource, ModifierIndicator, NcciEdits, PtpBrief, PtpEdit, PtpEdition};
pub use pos::{PlaceOfService, PlaceOfServiceCodes};
pub use taxonomy::TaxonomyCodes;
pub use therapy::{
    CodeParams, DeviceParams, KxParams, KxThresholds, KxYear, ModalityParams, ModifierParams,
    StandaloneParams, TaxonomyParams, TherapyParams, UnitParams, VisitParams,
};
pub use used::EditionsUsed;

/// A reference file could not be read or does not have the expected layout.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file as named by the caller.
        file: String,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// A line of the file is not what the layout calls for.
    #[error("{file}:{line}: expected {expected}")]
    Invalid {
        /// The file as named by the caller (or the bundled `data/...` path).
        file: String,
        /// 1-based line number (0 when the problem is the file as a whole).
        line: usize,
        /// What was expected there, and what was found.
        expected: String,
    },
}

impl ReferenceError {
    /// Builds an [`ReferenceError::Invalid`].
    pub fn invalid(file: &str, line: usize, expected: impl Into<String>) -> ReferenceError {
        ReferenceError::Invalid {
            file: file.to_string(),
            line,
            expected: expected.into(),
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ReferenceError::Read { file, .. } | ReferenceError::Invalid { file, .. } => file,
        }
    }

    /// The 1-based line the error is about, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            ReferenceError::Invalid { line, .. } if *line > 0 => Some(*line),
            _ => None,
        }
    }
}

/// Reads a whole file for a loader, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ReferenceError> {
    std::fs::read(path).map_err(|source| ReferenceError::Read {
        file: path.display().to_string(),
        source,
    })
}

/// Bundled data files, compiled into the binary. The names are the paths under the crate
/// root, used in error messages.
mod bundled {
    pub(super) const FEES: (&str, &str) = (
        "data/fee-schedule/mpfs-national.csv",
        include_str!("../../data/fee-schedule/mpfs-national.csv"),
    );
    pub(super) const FEE_INDICATORS: (&str, &str) = (
        "data/fee-schedule/indicators.csv",
        include_str!("../../data/fee-schedule/indicators.csv"),
    );
    pub(super) const PTP_SEED: (&str, &str) = (
        "data/ncci/ptp-seed.txt",
        include_str!("../../data/ncci/ptp-seed.txt"),
    );
    /// The CMS practitioner MUE table and its effective date (year, month, day).
    pub(super) const MUE: (&str, &[u8], (i32, u32, u32)) = (
        "data/ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
        include_bytes!("../../data/ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv"),
        (2026, 4, 1),
    );
    pub(super) const TAXONOMY: (&str, &str) = (
        "data/nucc/taxonomy.tsv",
        include_str!("../../data/nucc/taxonomy.tsv"),
    );
    pub(super) const POS: (&str, &str) = (
        "data/pos/place-of-service.csv",
        include_str!("../../data/pos/place-of-service.csv"),
    );
    pub(super) const TRACTION_DX: (&str, &str) = (
        "data/dx-support/traction-dx.txt",
        include_str!("../../data/dx-support/traction-dx.txt"),
    );
    pub(super) const THERAPY: (&str, &str) = (
        "data/therapy/therapy-97012.toml",
        include_str!("../../data/therapy/therapy-97012.toml"),
    );
    pub(super) const KX: (&str, &str) = (
        "data/therapy/kx-thresholds.csv",
        include_str!("../../data/therapy/kx-thresholds.csv"),
    );
}

/// All reference data the rules use.
#[derive(Debug, Clone)]
pub struct Reference {
    /// ICD-10-CM editions FY2016-FY2027 (mid-year updates included), by effective date.
    pub icd: IcdCodeSets,
    /// Medicare Physician Fee Schedule national amounts by year.
    pub fees: FeeSchedule,
    /// NCCI practitioner procedure-to-procedure edits (seed plus any loaded CMS files).
    pub ncci: NcciEdits,
    /// NCCI practitioner medically unlikely edits: the bundled CMS table (effective
    /// 2026-04-01), imported tables by effective date, and `--mue` files.
    pub mue: MueTable,
    /// CMS place-of-service codes.
    pub pos: PlaceOfServiceCodes,
    /// NUCC Health Care Provider Taxonomy codes (bundled v25.1, or an imported version).
    pub taxonomy: TaxonomyCodes,
    /// ICD-10-CM prefixes that support mechanical traction (97012).
    pub traction_dx: DxPrefixes,
    /// Parameters of the 97012 / therapy rules.
    pub therapy: TherapyParams,
    /// Therapy KX modifier thresholds by year.
    pub kx: KxThresholds,
}

impl Reference {
    /// All bundled data, parsed once (on first use) and shared.
    pub fn bundled() -> &'static Reference {
        static BUNDLED: OnceLock<Reference> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            Reference::load_bundled().expect(
                "bundled reference data parses (proved by reference::tests::bundled_data_parses)",
            )
        })
    }

    /// Parses the bundled data afresh, reporting any problem instead of panicking.
    pub fn load_bundled() -> Result<Reference, ReferenceError> {
        // The ICD-10-CM code sets are most of the work, and every run waits for it before
        // its first claim: they are read beside the rest.
        let (icd, rest) = rayon::join(IcdCodeSets::load_bundled, Self::load_bundled_but_icd);
        Ok(rest?(icd?))
    }

    /// Every bundled table but the ICD-10-CM code sets, which the result takes to make the
    /// whole reference.
    fn load_bundled_but_icd() -> Result<impl FnOnce(IcdCodeSets) -> Reference + Send, ReferenceError>
    {
        let (file, text) = bundled::FEES;
        let mut fees = FeeSchedule::parse(file, text)?;
        let (file, text) = bundled::FEE_INDICATORS;
        fees.add_indicators(file, text)?;
        let (file, text) = bundled::PTP_SEED;
        let ncci = NcciEdits::parse_seed(file, text)?;
        let (file, bytes, (y, m, d)) = bundled::MUE;
        let effective = chrono::NaiveDate::from_ymd_opt(y, m, d)
            .ok_or_else(|| ReferenceError::invalid(file, 0, "a valid effective date"))?;
        let mut mue = MueTable::default();
        mue.add_edition(file, bytes, effective, EditSource::Bundled(file))?;
        let (file, text) = bundled::POS;
        let pos = PlaceOfServiceCodes::parse(file, text)?;
        let (file, text) = bundled::TAXONOMY;
        let taxonomy = TaxonomyCodes::parse(file, text)?;
        let (file, text) = bundled::TRACTION_DX;
        let traction_dx = DxPrefixes::parse(file, text)?;
        let (file, text) = bundled::THERAPY;
        let therapy = TherapyParams::parse(file, text)?;
        let (file, text) = bundled::KX;
        let kx = KxThresholds::parse(file, text)?;
        Ok(move |icd| Reference {
            icd,
            fees,
            ncci,
            mue,
            pos,
            taxonomy,
            traction_dx,
            therapy,
            kx,
        })
    }

    /// Bundled data plus official CMS files given on the command line: NCCI practitioner PTP
    /// text files (`--ncci PATH`, e.g. `ccipra-v322r0-f1.txt` .. `-f4.txt`) and practitioner
    /// MUE CSV files (`--mue PATH`). File edits take precedence over the seeds: a PTP pair
    /// present in any file (in either column order) hides the seed rows for that pair, and an
    /// MUE code present in a file replaces the seed value (a later file replaces an earlier
    /// one). Errors name the file and line.
    ///
    /// Reference data imported with `scrub837 refdata import` (see [`store`]) is applied
    /// first, from the data directory [`store::default_dir`] names.
    pub fn with_files(ncci: &[PathBuf], mue: &[PathBuf]) -> Result<Reference, ReferenceError> {
        let mut reference = Reference::bundled().clone();
        if let Some(dir) = store::default_dir() {
            store::apply(&mut reference, &dir)?;
        }
        for path in ncci {
            reference.ncci.load_file(path)?;
        }
        for path in mue {
            reference.mue.load_file(path)?;
        }
        Ok(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_parses() {
        let reference = Reference::load_bundled().unwrap();
        reference.icd.check_all().unwrap();
        // The shared instance is the same data.
        assert_eq!(
            Reference::bundled().pos.name("11"),
            reference.pos.name("11")
        );
    }

    #[test]
    fn with_files_reports_a_missing_file() {
        let err = Reference::with_files(&[PathBuf::from("/no/such/ccipra.txt")], &[]).unwrap_err();
        assert_eq!(err.file(), "/no/such/ccipra.txt");
        assert!(err.to_string().contains("cannot read"), "{err}");
        assert_eq!(err.line(), None);
    }

    #[test]
    fn invalid_errors_show_file_and_line() {
        let err = ReferenceError::invalid("x.csv", 3, "a year, found `abc`");
        assert_eq!(err.to_string(), "x.csv:3: expected a year, found `abc`");
        assert_eq!(err.line(), Some(3));
    }
}
