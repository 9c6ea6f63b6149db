package mapping

import (
	"math/big"
	"strings"
)

// MinorUnit returns the number of decimal places of currency's minor
// unit per ISO 4217: 2 for most, 0 for JPY, 3 for KWD. currency is an
// upper-case three-letter code. Amounts in major units (19.99) are turned
// into minor units (1999) with it.
func MinorUnit(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// normalizeCurrency upper-cases a currency code and checks it is three
// letters.
func normalizeCurrency(s string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 3 {
		return "", false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return "", false
		}
	}
	return c, true
}

// toMinor turns an amount into an integer count of minor units: a major
// amount is scaled by the currency's minor unit and must then be whole.
func toMinor(amount *big.Rat, major bool, currency string) (int64, string) {
	a := amount
	if major {
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(MinorUnit(currency))), nil))
		a = new(big.Rat).Mul(amount, scale)
	}
	if !a.IsInt() {
		if major {
			return 0, "the amount has more decimal places than the currency's minor unit"
		}
		return 0, "an amount in minor units must be a whole number"
	}
	if !a.Num().IsInt64() {
		return 0, "the amount is out of range"
	}
	return a.Num().Int64(), ""
}
