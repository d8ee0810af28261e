#!/usr/bin/env python3
"""NPI check digits: Luhn over the constant prefix 80840 + the first 9 NPI digits.

Usage:
  python3 tools/npi.py make 123456789 ...   -> prints the full 10-digit NPI for each 9-digit base
  python3 tools/npi.py check 1234567893 ... -> prints OK/BAD for each NPI

Used to build the synthetic NPIs in samples/ (see tools/make_samples.py).
"""
import sys

PREFIX = "80840"


def luhn_check_digit(digits: str) -> str:
    """Luhn check digit for a digit string (the digit that would be appended)."""
    total = 0
    # rightmost digit of `digits` is doubled, since the check digit is appended after it
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(base9: str) -> str:
    if len(base9) != 9 or not base9.isdigit():
        raise ValueError(f"need 9 digits, got {base9!r}")
    return base9 + luhn_check_digit(PREFIX + base9)


def is_valid_npi(npi: str) -> bool:
    if len(npi) != 10 or not npi.isdigit():
        return False
    return luhn_check_digit(PREFIX + npi[:9]) == npi[9]


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("make", "check"):
        print(__doc__)
        sys.exit(2)
    for arg in sys.argv[2:]:
        if sys.argv[1] == "make":
            print(make_npi(arg))
        else:
            print(arg, "OK" if is_valid_npi(arg) else "BAD")
