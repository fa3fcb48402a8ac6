package restproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"

	"github.com/hamba/avro/v2"
)

// Avro's JSON encoding, as the reference REST proxy embeds Avro data: a
// non-null union value is an object naming its branch ({"string":"x"}),
// bytes and fixed are strings of code points 0-255.

// parseJSONNumbers decodes data keeping numbers as json.Number.
func parseJSONNumbers(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func at(path string) string {
	if path == "" {
		return "the value"
	}
	return path
}

// avroFromJSON turns a JSON value (numbers as json.Number) into the Go value
// hamba/avro marshals with schema s.
func avroFromJSON(s avro.Schema, v any, path string) (any, error) {
	bad := func(want string) error {
		return fmt.Errorf("%s: expected %s, got %s", at(path), want, jsonKind(v))
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return avroFromJSON(s.Schema(), v, path)
	case *avro.PrimitiveSchema:
		switch s.Type() {
		case avro.Null:
			if v != nil {
				return nil, bad("null")
			}
			return nil, nil
		case avro.Boolean:
			b, ok := v.(bool)
			if !ok {
				return nil, bad("boolean")
			}
			return b, nil
		case avro.Int, avro.Long:
			n, ok := v.(json.Number)
			if !ok {
				return nil, bad(string(s.Type()))
			}
			i, err := n.Int64()
			if err != nil || (s.Type() == avro.Int && (i < math.MinInt32 || i > math.MaxInt32)) {
				return nil, fmt.Errorf("%s: %s is not an Avro %s", at(path), n, s.Type())
			}
			if s.Type() == avro.Int {
				return int(i), nil
			}
			return i, nil
		case avro.Float, avro.Double:
			n, ok := v.(json.Number)
			if !ok {
				return nil, bad(string(s.Type()))
			}
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("%s: %s is not a number", at(path), n)
			}
			if s.Type() == avro.Float {
				return float32(f), nil
			}
			return f, nil
		case avro.String:
			str, ok := v.(string)
			if !ok {
				return nil, bad("string")
			}
			return str, nil
		case avro.Bytes:
			str, ok := v.(string)
			if !ok {
				return nil, bad("bytes as a string")
			}
			b, err := latin1(str)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", at(path), err)
			}
			if s.Logical() != nil && s.Logical().Type() == avro.Decimal {
				ls := s.Logical().(*avro.DecimalLogicalSchema)
				return decimalRat(b, ls.Scale()), nil
			}
			return b, nil
		}
	case *avro.FixedSchema:
		str, ok := v.(string)
		if !ok {
			return nil, bad("fixed as a string")
		}
		b, err := latin1(str)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", at(path), err)
		}
		if len(b) != s.Size() {
			return nil, fmt.Errorf("%s: fixed %s holds %d bytes, got %d", at(path), s.FullName(), s.Size(), len(b))
		}
		arr := reflect.New(reflect.ArrayOf(s.Size(), reflect.TypeFor[byte]())).Elem()
		reflect.Copy(arr, reflect.ValueOf(b))
		return arr.Interface(), nil
	case *avro.EnumSchema:
		str, ok := v.(string)
		if !ok {
			return nil, bad("enum symbol")
		}
		for _, sym := range s.Symbols() {
			if sym == str {
				return str, nil
			}
		}
		return nil, fmt.Errorf("%s: %q is not a symbol of enum %s", at(path), str, s.FullName())
	case *avro.ArraySchema:
		arr, ok := v.([]any)
		if !ok {
			return nil, bad("array")
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			var err error
			if out[i], err = avroFromJSON(s.Items(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.MapSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("map object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = avroFromJSON(s.Values(), e, path+"."+k); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.RecordSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("record " + s.FullName())
		}
		out := make(map[string]any, len(s.Fields()))
		for _, f := range s.Fields() {
			fv, present := m[f.Name()]
			fp := f.Name()
			if path != "" {
				fp = path + "." + f.Name()
			}
			if !present {
				if !f.HasDefault() {
					return nil, fmt.Errorf("%s: missing field %q of record %s", at(path), f.Name(), s.FullName())
				}
				out[f.Name()] = f.Default()
				continue
			}
			var err error
			if out[f.Name()], err = avroFromJSON(f.Type(), fv, fp); err != nil {
				return nil, err
			}
		}
		for k := range m {
			if s.Fields() != nil && !hasField(s, k) {
				return nil, fmt.Errorf("%s: record %s has no field %q", at(path), s.FullName(), k)
			}
		}
		return out, nil
	case *avro.UnionSchema:
		if v == nil {
			if s.Nullable() {
				return nil, nil
			}
			return nil, fmt.Errorf("%s: null is not a branch of the union", at(path))
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("%s: a non-null union value must be an object naming its branch, like {\"%s\": ...}", at(path), branchName(firstNonNull(s)))
		}
		for k, e := range m {
			for _, b := range s.Types() {
				if branchName(b) == k {
					x, err := avroFromJSON(b, e, path)
					if err != nil {
						return nil, err
					}
					return map[string]any{k: x}, nil
				}
			}
			return nil, fmt.Errorf("%s: %q is not a branch of the union", at(path), k)
		}
	}
	return nil, fmt.Errorf("%s: unsupported Avro schema %s", at(path), s.Type())
}

func hasField(s *avro.RecordSchema, name string) bool {
	for _, f := range s.Fields() {
		if f.Name() == name {
			return true
		}
	}
	return false
}

func firstNonNull(u *avro.UnionSchema) avro.Schema {
	for _, b := range u.Types() {
		if b.Type() != avro.Null {
			return b
		}
	}
	return u.Types()[0]
}

// branchName is how Avro JSON names a union branch: the full name of a
// named type, the type otherwise.
func branchName(s avro.Schema) string {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func latin1(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, fmt.Errorf("bytes must be code points 0-255, got %q", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

func fromLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// decimalRat is the two's-complement big-endian unscaled value b with
// scale as a *big.Rat, as hamba/avro takes decimals.
func decimalRat(b []byte, scale int) *big.Rat {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
}

// avroToJSON turns a value hamba/avro unmarshalled into any with schema s
// into Avro's JSON encoding.
func avroToJSON(s avro.Schema, v any) (any, error) {
	switch s := s.(type) {
	case *avro.RefSchema:
		return avroToJSON(s.Schema(), v)
	case *avro.PrimitiveSchema:
		switch x := v.(type) {
		case []byte:
			return fromLatin1(x), nil
		case time.Time:
			switch s.Logical().Type() {
			case avro.Date:
				return x.Unix() / 86400, nil
			case avro.TimestampMicros, avro.LocalTimestampMicros:
				return x.UnixMicro(), nil
			}
			return x.UnixMilli(), nil
		case time.Duration:
			if s.Logical().Type() == avro.TimeMicros {
				return x.Microseconds(), nil
			}
			return x.Milliseconds(), nil
		case *big.Rat:
			ls := s.Logical().(*avro.DecimalLogicalSchema)
			n := new(big.Int).Mul(x.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(ls.Scale())), nil))
			n.Quo(n, x.Denom())
			return fromLatin1(twosComplement(n)), nil
		}
		return v, nil
	case *avro.FixedSchema:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Array {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return fromLatin1(b), nil
		}
		return v, nil
	case *avro.ArraySchema:
		arr, _ := v.([]any)
		out := make([]any, len(arr))
		for i, e := range arr {
			var err error
			if out[i], err = avroToJSON(s.Items(), e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.MapSchema:
		m, _ := v.(map[string]any)
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = avroToJSON(s.Values(), e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.RecordSchema:
		m, _ := v.(map[string]any)
		out := make(map[string]any, len(m))
		for _, f := range s.Fields() {
			var err error
			if out[f.Name()], err = avroToJSON(f.Type(), m[f.Name()]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.UnionSchema:
		if v == nil {
			return nil, nil
		}
		// hamba/avro gives some unions (not ["null", X]) already wrapped
		// as {branch: value}.
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for _, b := range s.Types() {
				if x, ok := m[branchName(b)]; ok {
					y, err := avroToJSON(b, x)
					if err != nil {
						return nil, err
					}
					return map[string]any{branchName(b): y}, nil
				}
			}
		}
		for _, b := range s.Types() {
			if b.Type() != avro.Null && fits(b, v) {
				x, err := avroToJSON(b, v)
				if err != nil {
					return nil, err
				}
				return map[string]any{branchName(b): x}, nil
			}
		}
		return nil, fmt.Errorf("a %T matches no branch of the union", v)
	}
	return v, nil
}

// fits tells whether the decoded value v can come from schema s.
func fits(s avro.Schema, v any) bool {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	switch s.Type() {
	case avro.Boolean:
		_, ok := v.(bool)
		return ok
	case avro.Int:
		switch v.(type) {
		case int, int32, time.Time, time.Duration:
			return true
		}
	case avro.Long:
		switch v.(type) {
		case int64, time.Time, time.Duration:
			return true
		}
	case avro.Float:
		_, ok := v.(float32)
		return ok
	case avro.Double:
		_, ok := v.(float64)
		return ok
	case avro.String, avro.Enum:
		_, ok := v.(string)
		return ok
	case avro.Bytes:
		switch v.(type) {
		case []byte, *big.Rat:
			return true
		}
	case avro.Fixed:
		rv := reflect.ValueOf(v)
		return rv.Kind() == reflect.Array && rv.Len() == s.(*avro.FixedSchema).Size()
	case avro.Array:
		_, ok := v.([]any)
		return ok
	case avro.Map, avro.Record:
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	l := (n.BitLen() + 8) / 8
	m := new(big.Int).Add(n, new(big.Int).Lsh(big.NewInt(1), uint(l*8)))
	b := m.Bytes()
	for len(b) < l {
		b = append([]byte{0xff}, b...)
	}
	return b
}
