package mapping

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Conversions of native values (what hamba/avro decodes into: string,
// int, int64, float32, float64, bool, *big.Rat, time.Time, time.Duration,
// []byte, []any, map[string]any) to the Go types the canonical contracts
// are encoded from. Each reports whether it could convert; none looks
// into a value further than its type needs, and none puts a value into an
// error message.

func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case *big.Rat:
		return ratString(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case time.Duration:
		return x.String(), true
	case []byte:
		return string(x), true
	}
	return "", false
}

// boxString returns s as a value: v itself when v already is the string
// s (a value passed on unchanged), so that s is not boxed anew.
func boxString(v any, s string) any {
	if x, ok := v.(string); ok && x == s {
		return v
	}
	return s
}

// ratString writes a decimal exactly: "199", "199.5", "0.0001"; a
// fraction that is not a finite decimal is written with 18 places.
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	d := new(big.Int).Set(r.Denom())
	factors := func(p int64) int {
		n := 0
		div, rem := big.NewInt(p), new(big.Int)
		for {
			q, m := new(big.Int).QuoRem(d, div, rem)
			if m.Sign() != 0 {
				return n
			}
			d = q
			n++
		}
	}
	places := max(factors(2), factors(5))
	if d.Cmp(big.NewInt(1)) != 0 {
		places = 18
	}
	return r.FloatString(places)
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float32:
		return floatInt(float64(x))
	case float64:
		return floatInt(x)
	case *big.Rat:
		if !x.IsInt() || !x.Num().IsInt64() {
			return 0, false
		}
		return x.Num().Int64(), true
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if r, ok := parseDecimal(s); ok && r.IsInt() && r.Num().IsInt64() {
			return r.Num().Int64(), true
		}
	}
	return 0, false
}

func floatInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 || math.IsNaN(f) {
		return 0, false
	}
	return int64(f), true
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case *big.Rat:
		f, _ := x.Float64()
		return f, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func asRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int32:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case float32:
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(float64(x), 'f', -1, 32))
		return r, ok
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		// The shortest decimal that reads back as x: what the sender wrote.
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'f', -1, 64))
		return r, ok
	case *big.Rat:
		return x, true
	case string:
		return parseDecimal(x)
	}
	return nil, false
}

// parseDecimal reads a decimal number written as text: digits with an
// optional sign, fraction and exponent. It refuses what is not one, and
// numbers whose size would make exact arithmetic slow (more than 64
// characters, an exponent beyond ±40): text comes from partners.
func parseDecimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return nil, false
	}
	i := 0
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return nil, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
		e, err := strconv.Atoi(s[start:i])
		if err != nil || e > 40 || e < -40 {
			return nil, false
		}
	}
	if i != len(s) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "1":
			return true, true
		case "false", "no", "0":
			return false, true
		}
	case int, int32, int64:
		n, _ := asInt64(x)
		if n == 0 || n == 1 {
			return n == 1, true
		}
	}
	return false, false
}

// timeLayouts returns the text forms a timestamp is read from when the
// mapping gives no layout, in the order they are tried.
func timeLayouts() [8]string {
	return [8]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999", // no zone: UTC
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		time.RFC1123Z,
		time.RFC1123, // GMT, UTC or UT only: see utcZone
		"2006-01-02",
	}
}

// asTime reads a timestamp: a time as it is; text in the layout, or in
// one of timeLayouts; a number (a fraction too) as a count of unit ("s",
// "ms" or "us") since the Unix epoch. The result is UTC, cut to
// milliseconds, the precision of the canonical timestamps.
func asTime(v any, unit, layout string) (time.Time, bool) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		s := strings.TrimSpace(x)
		if layout != "" {
			p, err := time.Parse(layout, s)
			if err != nil {
				return time.Time{}, false
			}
			t = p
			break
		}
		ok := false
		for _, l := range timeLayouts() {
			if p, err := time.Parse(l, s); err == nil && (l != time.RFC1123 || utcZone(p)) {
				t, ok = p, true
				break
			}
		}
		if !ok {
			if unit == "" {
				return time.Time{}, false
			}
			return fromUnix(s, unit)
		}
	default:
		if unit == "" {
			return time.Time{}, false
		}
		return fromUnix(v, unit)
	}
	return t.UTC().Truncate(time.Millisecond), true
}

// utcZone reports whether a time parsed with a zone abbreviation is in
// UTC by its name. Go gives an abbreviation it does not know (EST, CET,
// in a process whose zone is UTC) an offset of zero: read as UTC, such a
// time would be hours off, so it is not read at all.
func utcZone(t time.Time) bool {
	name, _ := t.Zone()
	return name == "UTC" || name == "GMT" || name == "UT"
}

// unitsPerMilli are the counts of each unit in a millisecond.
var unitsPerMilli = map[string]*big.Rat{"s": big.NewRat(1, 1000), "ms": big.NewRat(1, 1), "us": big.NewRat(1000, 1)}

// fromUnix reads a number, whole or not, as a count of unit since the
// Unix epoch, exactly, floored to the millisecond.
func fromUnix(v any, unit string) (time.Time, bool) {
	per, ok := unitsPerMilli[unit]
	if !ok {
		return time.Time{}, false
	}
	r, ok := asRat(v)
	if !ok {
		return time.Time{}, false
	}
	q := new(big.Rat).Quo(r, per)
	ms := new(big.Int).Div(q.Num(), q.Denom()) // Euclidean: the floor, as a denominator is positive
	if !ms.IsInt64() || ms.Int64() > math.MaxInt64/int64(time.Millisecond) || ms.Int64() < math.MinInt64/int64(time.Millisecond) {
		return time.Time{}, false
	}
	return time.UnixMilli(ms.Int64()).UTC(), true
}

// cloneNative copies the maps and slices of a native value, so a default
// handed out twice is never shared.
func cloneNative(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneNative(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneNative(e)
		}
		return out
	}
	return v
}
