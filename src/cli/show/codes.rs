//! The acknowledgment code lists `show` describes codes with, bundled from `data/x12-codes`
//! (see its README for the sources). A code that is not listed has no description: it is
//! shown as such, never guessed.

/// One bundled code list: code, tab, meaning per line; `#` starts a comment.
#[derive(Debug, Clone, Copy)]
pub struct CodeList {
    /// What the list is, for the "no description" text.
    pub name: &'static str,
    text: &'static str,
}

impl CodeList {
    /// The meaning of `code`, when the list has it.
    pub fn meaning(&self, code: &str) -> Option<&'static str> {
        self.text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('\t'))
            .find(|(c, _)| *c == code)
            .map(|(_, meaning)| meaning.trim_end())
    }

    /// `code meaning`, or `code (no description bundled for <list>)`.
    pub fn describe(&self, code: &str) -> String {
        match self.meaning(code) {
            Some(meaning) => format!("{code} {meaning}"),
            None => format!("{code} (no description bundled for {})", self.name),
        }
    }

    /// Every code of the list, in file order (for tests).
    pub fn codes(&self) -> Vec<&'static str> {
        self.text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('\t'))
            .map(|(c, _)| c)
            .collect()
    }
}

/// STC01-1: claim status category codes (external code list 507).
pub const CATEGORY: CodeList = CodeList {
    name: "claim status category",
    text: include_str!("../../../data/x12-codes/claim-status-category.tsv"),
};
/// STC01-2: claim status codes (external code list 508, the codes a scrubber meets).
pub const STATUS: CodeList = CodeList {
    name: "claim status code",
    text: include_str!("../../../data/x12-codes/claim-status.tsv"),
};
/// STC01-3: entity identifier codes.
pub const ENTITY: CodeList = CodeList {
    name: "entity code",
    text: include_str!("../../../data/x12-codes/entity.tsv"),
};
/// IK501, AK901 and TA104: acknowledgment codes.
pub const ACK: CodeList = CodeList {
    name: "acknowledgment code",
    text: include_str!("../../../data/x12-codes/ack-code.tsv"),
};
/// IK304: segment syntax error codes.
pub const IK304: CodeList = CodeList {
    name: "IK304",
    text: include_str!("../../../data/x12-codes/ik304.tsv"),
};
/// IK403: element syntax error codes.
pub const IK403: CodeList = CodeList {
    name: "IK403",
    text: include_str!("../../../data/x12-codes/ik403.tsv"),
};
/// IK502: transaction set syntax error codes.
pub const IK502: CodeList = CodeList {
    name: "IK502",
    text: include_str!("../../../data/x12-codes/ik502.tsv"),
};
/// AK905: functional group syntax error codes.
pub const AK905: CodeList = CodeList {
    name: "AK905",
    text: include_str!("../../../data/x12-codes/ak905.tsv"),
};
/// TA105: interchange note codes.
pub const TA105: CodeList = CodeList {
    name: "TA105",
    text: include_str!("../../../data/x12-codes/ta105.tsv"),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_reads_and_has_unique_codes() {
        for list in [
            CATEGORY, STATUS, ENTITY, ACK, IK304, IK403, IK502, AK905, TA105,
        ] {
            let codes = list.codes();
            assert!(codes.len() >= 5, "{}", list.name);
            let mut unique = codes.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), codes.len(), "{}", list.name);
        }
    }

    #[test]
    fn describes_known_and_unknown_codes() {
        assert_eq!(IK403.describe("5"), "5 Data element too long");
        assert_eq!(
            TA105.describe("025"),
            "025 Duplicate interchange control number"
        );
        assert_eq!(
            STATUS.describe("99999"),
            "99999 (no description bundled for claim status code)"
        );
    }
}
