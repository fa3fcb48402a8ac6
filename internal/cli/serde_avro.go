package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
)

// Avro: input and output are Avro's JSON encoding (the specification's, as
// kafka-avro-console-producer reads it): a union value other than null is
// an object with one member named by the branch's type ({"string":"x"},
// {"com.example.Order":{...}}), bytes and fixed are strings whose code
// points 0-255 are the bytes, logical types are their underlying type
// (timestamp-millis a long, decimal bytes). A record field missing from
// the input takes its default. hamba/avro encodes and decodes the binary.

type avroCodec struct {
	schema avro.Schema
}

func newAvroCodec(text string, refs []schemaRef) (*avroCodec, error) {
	cache := &avro.SchemaCache{}
	for _, r := range refs {
		if _, err := avro.ParseWithCache(r.text, "", cache); err != nil {
			return nil, fmt.Errorf("reference %s: %w", r.name, err)
		}
	}
	s, err := avro.ParseWithCache(text, "", cache)
	if err != nil {
		return nil, err
	}
	return &avroCodec{schema: s}, nil
}

// parseJSON reads exactly one JSON document, numbers kept as json.Number.
func parseJSON(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if err == io.EOF {
			return nil, errors.New("not JSON: empty")
		}
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not JSON: more than one value")
	}
	return v, nil
}

func (c *avroCodec) encode(doc []byte) ([]byte, error) {
	v, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	native, err := avroFromJSON(c.schema, v, "")
	if err != nil {
		return nil, err
	}
	b, err := avro.Marshal(c.schema, native)
	if err != nil {
		return nil, fmt.Errorf("avro: %v", err)
	}
	return b, nil
}

func (c *avroCodec) decode(b []byte) ([]byte, error) {
	var v any
	if err := avro.Unmarshal(c.schema, b, &v); err != nil {
		return nil, fmt.Errorf("not valid Avro for this schema: %v", err)
	}
	var buf bytes.Buffer
	if err := avroToJSON(&buf, c.schema, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// where names a position in the input for error messages.
func where(path string) string {
	if path == "" {
		return ""
	}
	return "at " + path + ": "
}

// jsonKind describes a JSON value for error messages.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + v.String()
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// avroFromJSON converts a JSON value to what hamba/avro marshals for s.
func avroFromJSON(s avro.Schema, v any, path string) (any, error) {
	mismatch := func(want string) error {
		return fmt.Errorf("%swant %s, got %s", where(path), want, jsonKind(v))
	}
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	switch s := s.(type) {
	case *avro.NullSchema:
		if v != nil {
			return nil, mismatch("null")
		}
		return nil, nil
	case *avro.PrimitiveSchema:
		nv, err := avroPrimitive(s.Type(), v, mismatch)
		if l := s.Logical(); err == nil && l != nil && l.Type() == avro.TimeMicros {
			// hamba/avro writes a time-micros long from a time.Duration
			nv = time.Duration(nv.(int64)) * time.Microsecond
		}
		return nv, err
	case *avro.RecordSchema:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("an object (record " + s.FullName() + ")")
		}
		out := make(map[string]any, len(s.Fields()))
		for _, f := range s.Fields() {
			fv, ok := obj[f.Name()]
			fpath := path + "." + f.Name()
			if !ok {
				if !f.HasDefault() {
					return nil, fmt.Errorf("%smissing field %q (it has no default)", where(path), f.Name())
				}
				d, err := avroDefault(f)
				if err != nil {
					return nil, fmt.Errorf("%sdefault of %q: %w", where(path), f.Name(), err)
				}
				out[f.Name()] = d
				continue
			}
			nv, err := avroFromJSON(f.Type(), fv, fpath)
			if err != nil {
				return nil, err
			}
			out[f.Name()] = nv
		}
		for name := range obj {
			if _, ok := out[name]; !ok {
				return nil, fmt.Errorf("%sunknown field %q (record %s has no such field)", where(path), name, s.FullName())
			}
		}
		return out, nil
	case *avro.EnumSchema:
		str, ok := v.(string)
		if !ok {
			return nil, mismatch("a string (enum " + s.FullName() + ")")
		}
		for _, sym := range s.Symbols() {
			if sym == str {
				return str, nil
			}
		}
		return nil, fmt.Errorf("%s%q is not a symbol of enum %s (%s)", where(path), str, s.FullName(), strings.Join(s.Symbols(), ", "))
	case *avro.ArraySchema:
		arr, ok := v.([]any)
		if !ok {
			return nil, mismatch("an array")
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			nv, err := avroFromJSON(s.Items(), e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	case *avro.MapSchema:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch("an object (map)")
		}
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			nv, err := avroFromJSON(s.Values(), e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = nv
		}
		return out, nil
	case *avro.FixedSchema:
		str, ok := v.(string)
		if !ok {
			return nil, mismatch("a string (fixed " + s.FullName() + ")")
		}
		b, err := latin1Bytes(str)
		if err != nil {
			return nil, fmt.Errorf("%s%v", where(path), err)
		}
		if len(b) != s.Size() {
			return nil, fmt.Errorf("%sfixed %s needs %d bytes, got %d", where(path), s.FullName(), s.Size(), len(b))
		}
		arr := reflect.New(reflect.ArrayOf(s.Size(), reflect.TypeFor[byte]())).Elem()
		reflect.Copy(arr, reflect.ValueOf(b))
		return arr.Interface(), nil
	case *avro.UnionSchema:
		if v == nil {
			if _, i := s.Types().Get(string(avro.Null)); i < 0 {
				return nil, mismatch("one of the union's types (" + unionNames(s) + "), not null")
			}
			return nil, nil
		}
		obj, ok := v.(map[string]any)
		if !ok || len(obj) != 1 {
			return nil, fmt.Errorf("%sa union value is null or an object with one member naming its type (one of %s), got %s", where(path), unionNames(s), jsonKind(v))
		}
		for name, inner := range obj {
			for _, t := range s.Types() {
				if unionName(t) == name {
					nv, err := avroFromJSON(t, inner, path+"."+name)
					if err != nil {
						return nil, err
					}
					return map[string]any{hambaUnionName(t): nv}, nil
				}
			}
			return nil, fmt.Errorf("%s%q is not a type of the union (%s)", where(path), name, unionNames(s))
		}
	}
	return nil, fmt.Errorf("%sunsupported Avro type %s", where(path), s.Type())
}

// avroPrimitive converts a JSON value for a primitive type.
func avroPrimitive(t avro.Type, v any, mismatch func(string) error) (any, error) {
	switch t {
	case avro.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch("a boolean")
	case avro.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, mismatch("a string")
	case avro.Bytes:
		s, ok := v.(string)
		if !ok {
			return nil, mismatch("a string (bytes)")
		}
		b, err := latin1Bytes(s)
		if err != nil {
			return nil, mismatch("a string of code points 0-255 (bytes)")
		}
		return b, nil
	case avro.Int, avro.Long:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch("an " + string(t))
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, mismatch("an integer (" + string(t) + ")")
		}
		if t == avro.Int {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, mismatch("an int (32 bits)")
			}
			return int(i), nil
		}
		return i, nil
	case avro.Float, avro.Double:
		var f float64
		switch v := v.(type) {
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(v.String(), 64); err != nil {
				return nil, mismatch("a number")
			}
		case string: // the specification's spelling of the non-finite values
			switch v {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return nil, mismatch("a number")
			}
		default:
			return nil, mismatch("a number")
		}
		if t == avro.Float {
			return float32(f), nil
		}
		return f, nil
	}
	return nil, mismatch(string(t))
}

// avroDefault is a field's default, converted like input: a union's default
// is a value of its first type.
func avroDefault(f *avro.Field) (any, error) {
	d := f.Default()
	t := f.Type()
	if u, ok := t.(*avro.UnionSchema); ok {
		if d == nil {
			return nil, nil
		}
		t = u.Types()[0]
	}
	if t.Type() == avro.Null || d == nil {
		return nil, nil
	}
	// hamba/avro keeps defaults as decoded JSON; round-trip them through
	// JSON so they convert like input does.
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	nv, err := avroFromJSON(t, v, "")
	if err != nil {
		return nil, err
	}
	if u, ok := f.Type().(*avro.UnionSchema); ok {
		return map[string]any{hambaUnionName(u.Types()[0]): nv}, nil
	}
	return nv, nil
}

// unionName is the name a union branch has in Avro's JSON encoding.
func unionName(s avro.Schema) string {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

// hambaUnionName is the name hamba/avro gives a union branch in the
// map[string]any it marshals and unmarshals: unionName, with a primitive's
// logical type appended ("long.timestamp-millis").
func hambaUnionName(s avro.Schema) string {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	if p, ok := s.(*avro.PrimitiveSchema); ok && p.Logical() != nil {
		return string(p.Type()) + "." + string(p.Logical().Type())
	}
	return unionName(s)
}

func unionNames(u *avro.UnionSchema) string {
	names := make([]string, len(u.Types()))
	for i, t := range u.Types() {
		names[i] = unionName(t)
	}
	return strings.Join(names, ", ")
}

// latin1Bytes reads Avro's JSON encoding of bytes: one byte per code point.
func latin1Bytes(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, fmt.Errorf("bytes are a string of code points 0-255, got %q", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// latin1String is the inverse of latin1Bytes.
func latin1String(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// avroToJSON writes what hamba/avro decoded for s in Avro's JSON encoding,
// record fields in schema order.
func avroToJSON(w *bytes.Buffer, s avro.Schema, v any) error {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	writeJSONValue := func(x any) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // <, > and & as they are, like the input
		if err := enc.Encode(x); err != nil {
			return err
		}
		w.Truncate(w.Len() - 1) // Encode's newline
		return nil
	}
	switch s := s.(type) {
	case *avro.NullSchema:
		w.WriteString("null")
		return nil
	case *avro.PrimitiveSchema:
		return writeJSONValue(avroPrimitiveOut(s, v))
	case *avro.RecordSchema:
		m, _ := v.(map[string]any)
		w.WriteByte('{')
		for i, f := range s.Fields() {
			if i > 0 {
				w.WriteByte(',')
			}
			_ = writeJSONValue(f.Name())
			w.WriteByte(':')
			if err := avroToJSON(w, f.Type(), m[f.Name()]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case *avro.EnumSchema:
		return writeJSONValue(v)
	case *avro.ArraySchema:
		arr, _ := v.([]any)
		w.WriteByte('[')
		for i, e := range arr {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := avroToJSON(w, s.Items(), e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	case *avro.MapSchema:
		m, _ := v.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.WriteByte(',')
			}
			_ = writeJSONValue(k)
			w.WriteByte(':')
			if err := avroToJSON(w, s.Values(), m[k]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case *avro.FixedSchema:
		if r, ok := v.(*big.Rat); ok { // decimal on fixed
			return writeJSONValue(latin1String(decimalBytes(r, s.Logical(), s.Size())))
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Array {
			return fmt.Errorf("unexpected fixed value %T", v)
		}
		b := make([]byte, rv.Len())
		reflect.Copy(reflect.ValueOf(b), rv)
		return writeJSONValue(latin1String(b))
	case *avro.UnionSchema:
		if v == nil {
			w.WriteString("null")
			return nil
		}
		branch, v := avroUnionBranch(s, v)
		if branch == nil {
			return fmt.Errorf("cannot tell the union branch of %T", v)
		}
		w.WriteByte('{')
		_ = writeJSONValue(unionName(branch))
		w.WriteByte(':')
		if err := avroToJSON(w, branch, v); err != nil {
			return err
		}
		w.WriteByte('}')
		return nil
	}
	return fmt.Errorf("unsupported Avro type %s", s.Type())
}

// avroResolver names the Go types hamba/avro's default configuration
// decodes union branches into (nothing here registers more).
var avroResolver = avro.NewTypeResolver()

// resolvedType is the Go type hamba/avro decodes union branch t into when
// it resolves it, nil when it does not (named, array and map types).
func resolvedType(t avro.Schema) reflect.Type {
	if _, ok := t.(*avro.PrimitiveSchema); !ok {
		return nil
	}
	rt, err := avroResolver.Type(hambaUnionName(t))
	if err != nil {
		return nil
	}
	return rt.Type1()
}

// avroUnionBranch finds the branch of union u that hamba/avro decoded v
// from, and v unwrapped. If every branch resolves to a Go type, v is the
// bare value of that type; otherwise it is {branch name: value}.
func avroUnionBranch(u *avro.UnionSchema, v any) (avro.Schema, any) {
	wrapped := false
	for _, t := range u.Types() {
		if t.Type() != avro.Null && resolvedType(t) == nil {
			wrapped = true
		}
	}
	if wrapped {
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for name, inner := range m {
				for _, t := range u.Types() {
					if hambaUnionName(t) == name {
						return t, inner
					}
				}
			}
		}
		return nil, v
	}
	for _, t := range u.Types() {
		if rt := resolvedType(t); rt != nil && reflect.TypeOf(v) == rt {
			return t, v
		}
	}
	return nil, v
}

// avroPrimitiveOut turns what hamba/avro decodes for a primitive (with its
// logical type applied) back into the underlying JSON value.
func avroPrimitiveOut(s *avro.PrimitiveSchema, v any) any {
	switch x := v.(type) {
	case []byte:
		return latin1String(x)
	case *big.Rat:
		return latin1String(decimalBytes(x, s.Logical(), 0))
	case time.Time:
		switch {
		case s.Logical() == nil:
		case s.Logical().Type() == avro.Date:
			return int64(math.Floor(float64(x.Unix()) / 86400))
		case s.Logical().Type() == avro.TimestampMicros || s.Logical().Type() == avro.LocalTimestampMicros:
			return x.UnixMicro()
		}
		return x.UnixMilli()
	case time.Duration:
		if s.Logical() != nil && s.Logical().Type() == avro.TimeMicros {
			return x.Microseconds()
		}
		return x.Milliseconds()
	case float32:
		return nonFinite(float64(x), x)
	case float64:
		return nonFinite(x, x)
	}
	return v
}

// nonFinite spells NaN and the infinities as Avro's JSON encoding does.
func nonFinite(f float64, v any) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return v
}

// decimalBytes is the two's-complement big-endian unscaled value of a
// decimal, padded to size bytes when size > 0 (fixed).
func decimalBytes(r *big.Rat, l avro.LogicalSchema, size int) []byte {
	scale := 0
	if d, ok := l.(*avro.DecimalLogicalSchema); ok {
		scale = d.Scale()
	}
	n := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	n.Quo(n, r.Denom())
	var b []byte
	if n.Sign() >= 0 {
		b = n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
	} else {
		// two's complement: 2^(8k) + n for the smallest k that fits
		k := (n.BitLen() + 8) / 8
		m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*k)), n)
		b = m.Bytes()
		for len(b) < k {
			b = append([]byte{0xff}, b...)
		}
	}
	for len(b) < size {
		pad := byte(0)
		if n.Sign() < 0 {
			pad = 0xff
		}
		b = append([]byte{pad}, b...)
	}
	return b
}
