package mapping

import (
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/sluicehq/sluice/consumers/identity"
)

// A step is one `as` conversion, applied to a source value before it is
// looked up in a map and converted to the canonical field's type.
type stepDef struct {
	// accepts reports whether the step can take values of kind k.
	accepts func(k kind) bool
	// out is the type of the step's results.
	out *atype
	// fn converts a value; nil means "no value" (an empty string after
	// trim, a free-mail domain), false that it could not convert.
	fn func(v any) (any, bool)
}

func scalarKind(k kind) bool {
	switch k {
	case kRecord, kArray, kMap, kUnion, kNull:
		return false
	}
	return true
}

func textKind(k kind) bool {
	switch k {
	case kString, kEnum, kAny, kBytes:
		return true
	}
	return false
}

// stepDefs returns the known steps; norm normalises e-mail addresses and
// domains the way identity stitching does.
func stepDefs(norm *identity.Normalizer) map[string]stepDef {
	str := &atype{kind: kString}
	// text makes a step of f, which gives a string, or ok false for no
	// value.
	text := func(f func(string) (string, bool)) func(any) (any, bool) {
		return func(v any) (any, bool) {
			s, ok := asString(v)
			if !ok {
				return nil, false
			}
			out, ok := f(s)
			if !ok {
				return nil, true
			}
			return boxString(v, out), true
		}
	}
	return map[string]stepDef{
		"trim": {textKind, str, text(func(s string) (string, bool) {
			s = strings.TrimSpace(s)
			return s, s != ""
		})},
		"lower":        {textKind, str, text(func(s string) (string, bool) { return strings.ToLower(s), true })},
		"upper":        {textKind, str, text(func(s string) (string, bool) { return strings.ToUpper(s), true })},
		"email":        {textKind, str, text(norm.Email)},
		"domain":       {textKind, str, text(norm.Domain)},
		"country_code": {textKind, str, text(countryCode)},
		"split": {textKind, &atype{kind: kArray, items: str}, func(v any) (any, bool) {
			s, ok := asString(v)
			if !ok {
				return nil, false
			}
			out := []any{}
			for _, part := range strings.Split(s, ",") {
				if p := strings.TrimSpace(part); p != "" {
					out = append(out, p)
				}
			}
			return out, true
		}},
		"not": {func(k kind) bool { return k == kBool || k == kAny || k == kString }, &atype{kind: kBool}, func(v any) (any, bool) {
			b, ok := asBool(v)
			return !b, ok
		}},
		"string":  {scalarKind, str, func(v any) (any, bool) { return asString(v) }},
		"long":    {scalarKind, &atype{kind: kLong}, func(v any) (any, bool) { return asInt64(v) }},
		"double":  {scalarKind, &atype{kind: kDouble}, func(v any) (any, bool) { return asFloat(v) }},
		"boolean": {scalarKind, &atype{kind: kBool}, func(v any) (any, bool) { return asBool(v) }},
	}
}

// stepNames lists the steps for error messages.
const stepNames = "trim, lower, upper, email, domain, country_code, split, not, string, long, double, boolean"

// countryCode reads a country's common name or an ISO 3166-1 code, and
// returns its upper-case alpha-2 code: a code assigned to a country, so
// "UK" (reserved for the United Kingdom) is GB, and a code of no country
// ("EU", "XX", a withdrawn "YU") is none.
func countryCode(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if c, ok := countryName(strings.ToLower(t)); ok {
		return c, true
	}
	return isoCountry(t)
}

// unassigned are the codes CLDR's regions (golang.org/x/text/language)
// count as countries that ISO 3166-1 does not assign: withdrawn ones (AN,
// CS, NT, SU, YU) and ones reserved for other uses.
var unassigned = [...]string{"AC", "AN", "CP", "CS", "DG", "FQ", "NT", "PC", "SU", "TA", "YU"}

// isoCountry reads an ISO 3166-1 alpha-2 or alpha-3 code, in any case, as
// the alpha-2 code of the country it is assigned to; codes replaced by
// another (UK, FX, TP, ZR) give that one.
func isoCountry(s string) (string, bool) {
	if len(s) != 2 && len(s) != 3 || hasNonLetter(s) {
		return "", false
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() || r.IsPrivateUse() {
		return "", false
	}
	c := r.Canonicalize()
	code := c.String()
	if c.ISO3() == "ZZZ" || len(code) != 2 || slices.Contains(unassigned[:], code) {
		return "", false
	}
	return code, true
}

// hasNonLetter reports whether s holds anything but ASCII letters.
func hasNonLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return true
		}
	}
	return false
}

// countryName returns the alpha-2 code of a country's common name, given
// in lower case.
func countryName(name string) (string, bool) {
	switch name {
	case "united states", "united states of america", "usa", "u.s.a.", "us of a":
		return "US", true
	case "united kingdom", "uk", "great britain", "england", "scotland", "wales", "northern ireland", "gbr":
		return "GB", true
	case "germany", "deutschland", "deu":
		return "DE", true
	case "france", "fra":
		return "FR", true
	case "canada", "can":
		return "CA", true
	case "australia", "aus":
		return "AU", true
	case "new zealand":
		return "NZ", true
	case "ireland":
		return "IE", true
	case "netherlands", "the netherlands", "holland", "nederland":
		return "NL", true
	case "belgium", "belgië", "belgique":
		return "BE", true
	case "luxembourg":
		return "LU", true
	case "switzerland", "schweiz", "suisse":
		return "CH", true
	case "austria", "österreich":
		return "AT", true
	case "spain", "españa":
		return "ES", true
	case "portugal":
		return "PT", true
	case "italy", "italia":
		return "IT", true
	case "sweden", "sverige":
		return "SE", true
	case "norway", "norge":
		return "NO", true
	case "denmark", "danmark":
		return "DK", true
	case "finland", "suomi":
		return "FI", true
	case "iceland":
		return "IS", true
	case "poland", "polska":
		return "PL", true
	case "czech republic", "czechia":
		return "CZ", true
	case "greece":
		return "GR", true
	case "japan":
		return "JP", true
	case "china":
		return "CN", true
	case "south korea", "korea":
		return "KR", true
	case "india":
		return "IN", true
	case "singapore":
		return "SG", true
	case "israel":
		return "IL", true
	case "brazil", "brasil":
		return "BR", true
	case "mexico", "méxico":
		return "MX", true
	case "argentina":
		return "AR", true
	case "south africa":
		return "ZA", true
	case "united arab emirates", "uae":
		return "AE", true
	}
	return "", false
}
