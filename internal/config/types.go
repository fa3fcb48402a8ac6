package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Type is a config value type, numbered as DescribeConfigs v3+ reports it
// (Kafka's DescribeConfigsResponse.ConfigType).
type Type int8

// Kafka's ConfigType numbering.
const (
	TypeUnknown  Type = 0
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3
	TypeShort    Type = 4
	TypeLong     Type = 5
	TypeDouble   Type = 6
	TypeList     Type = 7
	TypeClass    Type = 8
	TypePassword Type = 9
)

func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeShort:
		return "short"
	case TypeLong:
		return "long"
	case TypeDouble:
		return "double"
	case TypeList:
		return "list"
	case TypeClass:
		return "class"
	case TypePassword:
		return "password"
	}
	return "unknown"
}

// parse turns a raw property value into its Go form: bool, int64, float64,
// string or []string. Like Kafka's ConfigDef.parseType it trims surrounding
// whitespace first. The returned string is the reason a value is rejected.
func parse(t Type, raw string) (any, string) {
	s := strings.TrimSpace(raw)
	switch t {
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, "not a boolean (true or false)"
	case TypeShort, TypeInt, TypeLong:
		bits := map[Type]int{TypeShort: 16, TypeInt: 32, TypeLong: 64}[t]
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, fmt.Sprintf("out of range for a %d-bit integer", bits)
			}
			return nil, "not an integer"
		}
		return n, ""
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, "not a number"
		}
		return f, ""
	case TypeList:
		if s == "" {
			return []string{}, ""
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, ""
	case TypeClass:
		if s == "" {
			return nil, "not a class name"
		}
		return s, ""
	default: // string, password
		return s, ""
	}
}

// format prints a parsed value the way Kafka's ConfigDef.convertToString
// does, which is what DescribeConfigs reports.
func format(v any) string {
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return javaDouble(v)
	case []string:
		return strings.Join(v, ",")
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// canonical parses and re-prints raw, or returns raw unchanged if it does not
// parse.
func canonical(t Type, raw string) string {
	v, reason := parse(t, raw)
	if reason != "" {
		return raw
	}
	return format(v)
}

// javaDouble prints f as Java's Double.toString: plain decimal with at least
// one fractional digit between 1e-3 and 1e7, computerized scientific
// notation ("1.7976931348623157E308") outside that range.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.7976931348623157e+308
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// check validates a parsed value; it returns why the value is rejected, or "".
type check func(v any) string

func atLeast(min int64) check {
	return func(v any) string {
		if n, ok := v.(int64); ok && n < min {
			return fmt.Sprintf("must be at least %d", min)
		}
		return ""
	}
}

func between(min, max int64) check {
	return func(v any) string {
		if n, ok := v.(int64); ok && (n < min || n > max) {
			return fmt.Sprintf("must be between %d and %d", min, max)
		}
		return ""
	}
}

func betweenFloat(min, max float64) check {
	return func(v any) string {
		if f, ok := v.(float64); ok && (f < min || f > max || math.IsNaN(f)) {
			return fmt.Sprintf("must be between %s and %s", javaDouble(min), javaDouble(max))
		}
		return ""
	}
}

// oneOf is Kafka's ValidString.in: case-sensitive.
func oneOf(vals ...string) check {
	return func(v any) string {
		s, _ := v.(string)
		for _, ok := range vals {
			if s == ok {
				return ""
			}
		}
		return "must be one of: " + strings.Join(vals, ", ")
	}
}

// oneOfFold is Kafka's CaseInsensitiveValidString.in.
func oneOfFold(vals ...string) check {
	return func(v any) string {
		s, _ := v.(string)
		for _, ok := range vals {
			if strings.EqualFold(s, ok) {
				return ""
			}
		}
		return "must be one of: " + strings.Join(vals, ", ")
	}
}

// listOf is Kafka's ValidList.in: every item must be one of vals.
func listOf(vals ...string) check {
	return func(v any) string {
		items, _ := v.([]string)
	next:
		for _, it := range items {
			for _, ok := range vals {
				if it == ok {
					continue next
				}
			}
			return fmt.Sprintf("%q is not one of: %s", it, strings.Join(vals, ", "))
		}
		return ""
	}
}

// noDuplicates rejects a list that names the same item twice.
func noDuplicates(v any) string {
	items, _ := v.([]string)
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			return fmt.Sprintf("%q is listed twice", it)
		}
		seen[it] = true
	}
	return ""
}

func all(checks ...check) check {
	return func(v any) string {
		for _, c := range checks {
			if r := c(v); r != "" {
				return r
			}
		}
		return ""
	}
}

// gzipLevel accepts -1 (the codec default) or 1..9, as Kafka's GZIP
// levelValidator does.
func gzipLevel(v any) string {
	if n, ok := v.(int64); ok && n != -1 && (n < 1 || n > 9) {
		return "must be -1 or between 1 and 9"
	}
	return ""
}

var metadataVersionRE = regexp.MustCompile(`^(0\.(8|9|10|11)(\.\d+)*|[1-9]\d*\.\d+(\.\d+)?)(-IV\d+)?$`)

// metadataVersion loosely accepts what Kafka's MetadataVersionValidator
// accepts: a release such as "0.10.2", "2.8" or "3.9-IV0".
func metadataVersion(v any) string {
	s, _ := v.(string)
	if !metadataVersionRE.MatchString(s) {
		return "not a Kafka version such as 3.9 or 3.9-IV0"
	}
	return ""
}

// throttledReplicas is Kafka's ThrottledReplicaListValidator: "*" or a list
// of partition:broker pairs.
func throttledReplicas(v any) string {
	items, _ := v.([]string)
	if len(items) == 1 && items[0] == "*" {
		return ""
	}
	for _, it := range items {
		p, b, ok := strings.Cut(it, ":")
		if !ok || !isDigits(p) || !isDigits(b) {
			return "must be * or a list of partition:broker pairs such as 0:101,1:102"
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
