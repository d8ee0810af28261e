//! A generator of large synthetic 837P files for benchmarks and scale tests.
//!
//! Every person is synthetic; NPIs pass the check digit; the output is deterministic for a
//! given claim count. Files are split into transaction sets of at most 5,000 claims. Claims can share patients
//! ([`Shape::patients`]), for scale tests of the cross-claim rules.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

const CLAIMS_PER_SET: u64 = 5_000;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of claims.
    pub claims: u64,
    /// Number of patients the claims are spread over (claim i is patient i mod N); `None`:
    /// every claim its own patient.
    pub patients: Option<u64>,
}

/// Writes a synthetic file of `claims` claims to `path` (through a temporary name).
pub fn write_file(path: &Path, claims: u64) -> io::Result<()> {
    write_shaped_file(
        path,
        Shape {
            claims,
            patients: None,
        },
    )
}

/// Writes a synthetic file of the given shape to `path` (through a temporary name).
pub fn write_shaped_file(path: &Path, shape: Shape) -> io::Result<()> {
    let tmp = path.with_extension("partial");
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write_shaped(&mut out, shape)?;
        out.flush()?;
    }
    std::fs::rename(&tmp, path)
}

/// Writes a synthetic 837P interchange holding `claims` claims.
pub fn write<W: Write>(out: &mut W, claims: u64) -> io::Result<()> {
    write_shaped(
        out,
        Shape {
            claims,
            patients: None,
        },
    )
}

/// Writes a synthetic 837P interchange of the given shape.
pub fn write_shaped<W: Write>(out: &mut W, shape: Shape) -> io::Result<()> {
    let claims = shape.claims;
    writeln!(
        out,
        "ISA*00*          *00*          *ZZ*SYNTHSUBMIT    *ZZ*SYNTHRECEIVE   *260115*1030*^*00501*000000001*0*T*:~"
    )?;
    writeln!(
        out,
        "GS*HC*SYNTHSUBMIT*SYNTHRECEIVE*20260115*1030*1*X*005010X222A1~"
    )?;
    let sets = claims.div_ceil(CLAIMS_PER_SET).max(1);
    for set in 0..sets {
        let first = set * CLAIMS_PER_SET;
        let count = CLAIMS_PER_SET.min(claims - first);
        write_set(out, set + 1, first, count, shape.patients)?;
    }
    writeln!(out, "GE*{sets}*1~")?;
    writeln!(out, "IEA*1*000000001~")
}

/// Counts segments as they are written so SE01 is right.
struct SetWriter<'a, W> {
    out: &'a mut W,
    segments: u64,
}

impl<W: Write> SetWriter<'_, W> {
    fn seg(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.segments += 1;
        self.out.write_fmt(args)?;
        self.out.write_all(b"~\n")
    }
}

fn write_set<W: Write>(
    out: &mut W,
    number: u64,
    first: u64,
    count: u64,
    patients: Option<u64>,
) -> io::Result<()> {
    let mut w = SetWriter { out, segments: 0 };
    let control = format!("{number:04}");
    w.seg(format_args!("ST*837*{control}*005010X222A1"))?;
    w.seg(format_args!("BHT*0019*00*SYN{number}*20260115*1030*CH"))?;
    w.seg(format_args!(
        "NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYN0001"
    ))?;
    w.seg(format_args!("PER*IC*SUPPORT*TE*5555550100"))?;
    w.seg(format_args!("NM1*40*2*SYNTHETIC PAYER*****46*SYNPAYER"))?;
    w.seg(format_args!("HL*1**20*1"))?;
    w.seg(format_args!("PRV*BI*PXC*225100000X"))?;
    w.seg(format_args!(
        "NM1*85*2*SYNTHETIC PHYSICAL THERAPY*****XX*{}",
        npi(123456789)
    ))?;
    w.seg(format_args!("N3*100 EXAMPLE STREET"))?;
    w.seg(format_args!("N4*SPRINGFIELD*IL*627010000"))?;
    w.seg(format_args!("REF*EI*990000001"))?;
    let mut hl = 1;
    for i in first..first + count {
        hl += 1;
        let patient = patients.map_or(i, |n| i % n.max(1));
        write_claim(&mut w, hl, i, patient)?;
    }
    let segments = w.segments + 1;
    w.out.write_fmt(format_args!("SE*{segments}*{control}~\n"))
}

const CODES: [(&str, &str, i64); 5] = [
    ("97012", "GP", 1423),
    ("97110", "GP", 3150),
    ("97140", "GP:59", 2875),
    ("97530", "GP", 3600),
    ("97161", "GP", 10100),
];

/// Claim `i`, of patient `p` (whose name, member id and birth date follow from `p`).
fn write_claim<W: Write>(w: &mut SetWriter<'_, W>, hl: u64, i: u64, p: u64) -> io::Result<()> {
    let filing = if i % 3 == 0 { "MB" } else { "CI" };
    w.seg(format_args!("HL*{hl}*1*22*0"))?;
    w.seg(format_args!("SBR*P*18*GRP{:05}******{filing}", i % 1000))?;
    w.seg(format_args!(
        "NM1*IL*1*SYNTHETIC*PATIENT{}****MI*SYN{:09}",
        p % 997,
        p
    ))?;
    w.seg(format_args!("N3*{} SAMPLE AVENUE", 10 + i % 900))?;
    w.seg(format_args!("N4*SPRINGFIELD*IL*62704"))?;
    w.seg(format_args!(
        "DMG*D8*19{:02}0{}1{}*{}",
        40 + p % 50,
        1 + p % 9,
        p % 10,
        if p % 2 == 0 { "F" } else { "M" }
    ))?;
    w.seg(format_args!("NM1*PR*2*SYNTHETIC PAYER*****PI*SYNPAYER"))?;
    let lines = 1 + (i % 4);
    let total: i64 = (0..lines).map(|l| CODES[((i + l) % 5) as usize].2).sum();
    w.seg(format_args!(
        "CLM*PCN{i:010}*{}***11:B:1*Y*A*Y*Y",
        crate::model::Cents(total)
    ))?;
    w.seg(format_args!("REF*D9*TRACE{i:010}"))?;
    w.seg(format_args!("HI*ABK:M5416*ABF:M5450"))?;
    w.seg(format_args!(
        "NM1*DN*1*REFERRING*DOCTOR****XX*{}",
        npi(223456789)
    ))?;
    w.seg(format_args!(
        "NM1*82*1*RENDERING*THERAPIST****XX*{}",
        npi(323456789)
    ))?;
    w.seg(format_args!("PRV*PE*PXC*225100000X"))?;
    for l in 0..lines {
        let (code, modifiers, charge) = CODES[((i + l) % 5) as usize];
        w.seg(format_args!("LX*{}", l + 1))?;
        w.seg(format_args!(
            "SV1*HC:{code}:{modifiers}*{}*UN*1***1:2",
            crate::model::Cents(charge)
        ))?;
        w.seg(format_args!("DTP*472*D8*202601{:02}", 2 + (i % 12)))?;
        w.seg(format_args!("REF*6R*L{}", l + 1))?;
    }
    Ok(())
}

/// Completes a 9-digit NPI base with its Luhn check digit (prefix 80840).
pub fn npi(base: u32) -> String {
    let digits = format!("80840{base:09}");
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{base:09}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn npi_check_digit_matches_the_cms_example() {
        // CMS's published example: 123456789 -> check digit 3.
        assert_eq!(super::npi(123456789), "1234567893");
    }
}
