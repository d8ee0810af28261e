#!/usr/bin/env python3
"""Build data/fee-schedule/mpfs-national.csv and indicators.csv from pprrvu-extract.txt.

pprrvu-extract.txt holds the rows of the CMS PFS Relative Value File (PPRRVU) for the
therapy, modality and chiropractic codes named in shared/reference/therapy-billing-facts.md
section 3, copied from the CMS files (see that file's header and data/fee-schedule/README.md).

Amounts use the CMS national formula for the unadjusted payment:
    amount = total_rvu * conversion_factor, rounded half-up to the cent,
where total_rvu is the file's NON-FACILITY TOTAL or FACILITY TOTAL column
(= work + PE + MP, i.e. all GPCIs = 1.000). Everything is exact decimal arithmetic.

Usage: python3 tools/build_fee_schedule.py   (not run in CI)
"""
import csv
import os
from decimal import Decimal, ROUND_HALF_UP

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "data", "fee-schedule")

# Cross-check: national amounts printed in therapy-billing-facts.md section 3b
# (year, code) -> (non-facility $, facility $) for the non-QP CF.
FACTS_3B = {
    ("2025", "97010"): ("6.47", "6.47"), ("2026", "97010"): ("6.68", "6.68"),
    ("2025", "97012"): ("14.23", "14.23"), ("2026", "97012"): ("14.36", "14.36"),
    ("2025", "97014"): ("12.29", "12.29"), ("2026", "97014"): ("12.69", "12.69"),
    ("2025", "G0283"): ("12.29", "12.29"), ("2026", "G0283"): ("12.69", "12.69"),
    ("2025", "97032"): ("14.23", "14.23"), ("2026", "97032"): ("14.70", "14.70"),
    ("2025", "97110"): ("28.79", "28.79"), ("2026", "97110"): ("29.06", "29.06"),
    ("2025", "97112"): ("32.02", "32.02"), ("2026", "97112"): ("32.73", "32.73"),
    ("2025", "97124"): ("29.76", "29.76"), ("2026", "97124"): ("29.73", "29.73"),
    ("2025", "97140"): ("27.17", "27.17"), ("2026", "97140"): ("27.72", "27.72"),
    ("2025", "97530"): ("34.61", "34.61"), ("2026", "97530"): ("35.07", "35.07"),
    ("2025", "97750"): ("33.32", "33.32"), ("2026", "97750"): ("33.73", "33.73"),
    ("2025", "97161"): ("98.01", "98.01"), ("2026", "97161"): ("97.86", "97.86"),
    ("2025", "97162"): ("98.01", "98.01"), ("2026", "97162"): ("97.86", "97.86"),
    ("2025", "97163"): ("98.01", "98.01"), ("2026", "97163"): ("97.86", "97.86"),
    ("2025", "97164"): ("67.60", "67.60"), ("2026", "97164"): ("67.47", "67.47"),
    ("2025", "98940"): ("26.52", "21.35"), ("2026", "98940"): ("26.72", "18.37"),
    ("2025", "98941"): ("38.49", "32.67"), ("2026", "98941"): ("38.41", "28.06"),
    ("2025", "98942"): ("49.81", "43.99"), ("2026", "98942"): ("49.77", "38.08"),
    ("2025", "98943"): ("24.91", "21.67"), ("2026", "98943"): ("26.39", "19.37"),
}
EXPECTED_CF = {"2025": Decimal("32.3465"), "2026": Decimal("33.4009")}


def cents(total, cf):
    return int((Decimal(total) * cf).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


def main():
    rows = []
    for line in open(os.path.join(DIR, "pprrvu-extract.txt"), encoding="ascii"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        f = line.split("|")
        year, code, mod, status = f[0], f[1], f[2], f[3]
        work, nf_pe, nf_na, f_pe, f_na, mp, nf_tot, f_tot, pctc = f[5:14]
        mult = f[18]
        cf = Decimal(f[-1])
        assert mod == "", line
        assert cf == EXPECTED_CF[year], (year, cf)
        # the file's totals must equal the sum of the components
        assert Decimal(work) + Decimal(nf_pe) + Decimal(mp) == Decimal(nf_tot), line
        assert Decimal(work) + Decimal(f_pe) + Decimal(mp) == Decimal(f_tot), line
        nf_c, f_c = cents(nf_tot, cf), cents(f_tot, cf)
        want = FACTS_3B.get((year, code))
        if want is not None:
            got = ("%d.%02d" % divmod(nf_c, 100), "%d.%02d" % divmod(f_c, 100))
            if got != want:
                print(f"MISMATCH with facts file: {year} {code}: computed {got}, facts {want}")
        rows.append(dict(year=year, code=code, status=status, work=work, nf_pe=nf_pe,
                         f_pe=f_pe, mp=mp, nf_tot=nf_tot, f_tot=f_tot, cf=str(cf),
                         nf_c=nf_c, f_c=f_c, pctc=pctc, mult=mult,
                         nf_na=nf_na, f_na=f_na))
    rows.sort(key=lambda r: (r["year"], r["code"]))
    with open(os.path.join(DIR, "mpfs-national.csv"), "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["year", "code", "work_rvu", "nonfacility_pe_rvu", "facility_pe_rvu",
                    "mp_rvu", "nonfacility_total_rvu", "facility_total_rvu",
                    "conversion_factor", "nonfacility_amount_cents", "facility_amount_cents"])
        for r in rows:
            w.writerow([r["year"], r["code"], r["work"], r["nf_pe"], r["f_pe"], r["mp"],
                        r["nf_tot"], r["f_tot"], r["cf"], r["nf_c"], r["f_c"]])
    with open(os.path.join(DIR, "indicators.csv"), "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["year", "code", "status", "pctc_ind", "mult_proc_ind",
                    "nonfacility_na_ind", "facility_na_ind"])
        for r in rows:
            w.writerow([r["year"], r["code"], r["status"], r["pctc"], r["mult"],
                        r["nf_na"], r["f_na"]])
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
