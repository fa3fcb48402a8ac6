package schemaregistry

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// normalizeAvro rewrites a valid Avro schema (JSON text) into the
// reference's normalized form, so schemas that differ only in how they are
// written get one id when registered with normalize=true:
//
//   - attributes in a fixed order: type, name, namespace (only when it
//     differs from the enclosing one), doc, then fields / symbols / size /
//     items / values, the enum default, other properties, aliases;
//     a field is name, type, doc, default, order (unless ascending),
//     aliases, other properties;
//   - other properties sorted by name, except a logical type's logicalType,
//     precision and scale, which come first;
//   - aliases sorted; names of already defined types (and of types from
//     references) written as references, short when in the current
//     namespace;
//   - a primitive without properties written as its bare name.
//
// This is the text the reference stores after its Avro normalization
// (Avro's own JSON printing of the schema with sorted properties).
// deps are the texts of the referenced schemas.
func normalizeAvro(text string, deps []string) (string, error) {
	n := &avroNormalizer{known: map[string]bool{}}
	for _, d := range deps {
		v, err := decodeJSON(d)
		if err != nil {
			return "", err
		}
		n.collect(v, "")
	}
	v, err := decodeJSON(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	n.write(&b, v, "")
	return b.String(), nil
}

func decodeJSON(text string) (any, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// encodeJSON writes v compactly without HTML escaping, object keys sorted.
func encodeJSON(v any) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

type avroNormalizer struct {
	known map[string]bool // full names already written or referenced
}

var avroPrimitives = map[string]bool{"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true}

// fullName resolves a name against a namespace.
func fullName(name, explicitNS string, hasNS bool, enclosing string) (full, ns string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name, name[:i]
	}
	ns = enclosing
	if hasNS {
		ns = explicitNS
	}
	if ns == "" {
		return name, ""
	}
	return ns + "." + name, ns
}

// collect records the named types defined in v (a referenced schema).
func (n *avroNormalizer) collect(v any, ns string) {
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			n.collect(x, ns)
		}
	case map[string]any:
		typ, _ := t["type"].(string)
		switch typ {
		case "record", "error", "enum", "fixed":
			name, _ := t["name"].(string)
			explicit, hasNS := t["namespace"].(string)
			full, own := fullName(name, explicit, hasNS, ns)
			n.known[full] = true
			if fs, ok := t["fields"].([]any); ok {
				for _, f := range fs {
					if fm, ok := f.(map[string]any); ok {
						n.collect(fm["type"], own)
					}
				}
			}
		default:
			n.collect(t["type"], ns)
			n.collect(t["items"], ns)
			n.collect(t["values"], ns)
		}
	}
}

// ref writes a reference to a named type, relative to namespace ns.
func (n *avroNormalizer) ref(b *bytes.Buffer, name, ns string) {
	full := name
	if !strings.Contains(name, ".") && ns != "" && n.known[ns+"."+name] {
		full = ns + "." + name
	}
	if i := strings.LastIndexByte(full, '.'); i >= 0 && full[:i] == ns {
		full = full[i+1:]
	}
	b.WriteString(encodeJSON(full))
}

var avroLogicalFirst = []string{"logicalType", "precision", "scale"}

// props writes the attributes of m not in reserved: logical type
// attributes first when there is a logical type, then the rest by name.
func props(b *bytes.Buffer, m map[string]any, reserved ...string) {
	var first, rest []string
	for k := range m {
		if slices.Contains(reserved, k) {
			continue
		}
		if _, lt := m["logicalType"]; lt && slices.Contains(avroLogicalFirst, k) &&
			!(k == "scale" && encodeJSON(m[k]) == "0") {
			first = append(first, k)
		} else {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(first, func(a, c string) int {
		return slices.Index(avroLogicalFirst, a) - slices.Index(avroLogicalFirst, c)
	})
	slices.Sort(rest)
	for _, k := range append(first, rest...) {
		b.WriteString("," + encodeJSON(k) + ":" + encodeJSON(m[k]))
	}
}

func (n *avroNormalizer) aliases(b *bytes.Buffer, v any, ns string, qualify bool) {
	list := stringsOf(v)
	if len(list) == 0 {
		return
	}
	if qualify {
		for i, a := range list {
			full, _ := fullName(a, "", false, ns)
			list[i] = full
		}
	}
	slices.Sort(list)
	list = slices.Compact(list)
	if qualify {
		for i, a := range list {
			if j := strings.LastIndexByte(a, '.'); j >= 0 && a[:j] == ns {
				list[i] = a[j+1:]
			}
		}
	}
	b.WriteString(`,"aliases":` + encodeJSON(list))
}

// write writes schema v; ns is the enclosing namespace.
func (n *avroNormalizer) write(b *bytes.Buffer, v any, ns string) {
	switch t := v.(type) {
	case string:
		if avroPrimitives[t] {
			b.WriteString(encodeJSON(t))
		} else {
			n.ref(b, t, ns)
		}
	case []any:
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			n.write(b, x, ns)
		}
		b.WriteByte(']')
	case map[string]any:
		switch typ := t["type"].(type) {
		case string:
			switch typ {
			case "record", "error", "enum", "fixed":
				n.named(b, t, typ, ns)
			case "array", "map":
				key := "items"
				if typ == "map" {
					key = "values"
				}
				b.WriteString(`{"type":` + encodeJSON(typ) + `,"` + key + `":`)
				n.write(b, t[key], ns)
				props(b, t, "type", key)
				b.WriteByte('}')
			default:
				if !avroPrimitives[typ] {
					n.ref(b, typ, ns)
					return
				}
				if len(t) == 1 {
					b.WriteString(encodeJSON(typ))
					return
				}
				b.WriteString(`{"type":` + encodeJSON(typ))
				props(b, t, "type")
				b.WriteByte('}')
			}
		default:
			// {"type": {...}} or {"type": [...]}: the inner schema.
			n.write(b, typ, ns)
		}
	default:
		b.WriteString(encodeJSON(v))
	}
}

func (n *avroNormalizer) named(b *bytes.Buffer, t map[string]any, typ, ns string) {
	name, _ := t["name"].(string)
	explicit, hasNS := t["namespace"].(string)
	full, own := fullName(name, explicit, hasNS, ns)
	if n.known[full] {
		n.ref(b, full, ns)
		return
	}
	n.known[full] = true
	short := full
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		short = full[i+1:]
	}
	b.WriteString(`{"type":` + encodeJSON(typ) + `,"name":` + encodeJSON(short))
	if own != ns {
		b.WriteString(`,"namespace":` + encodeJSON(own))
	}
	if doc, ok := t["doc"]; ok {
		b.WriteString(`,"doc":` + encodeJSON(doc))
	}
	switch typ {
	case "record", "error":
		b.WriteString(`,"fields":[`)
		fs, _ := t["fields"].([]any)
		for i, f := range fs {
			if i > 0 {
				b.WriteByte(',')
			}
			fm, _ := f.(map[string]any)
			b.WriteString(`{"name":` + encodeJSON(fm["name"]) + `,"type":`)
			n.write(b, fm["type"], own)
			if doc, ok := fm["doc"]; ok {
				b.WriteString(`,"doc":` + encodeJSON(doc))
			}
			if def, ok := fm["default"]; ok {
				b.WriteString(`,"default":` + avroDefault(fm["type"], def))
			}
			if o, ok := fm["order"].(string); ok && strings.ToLower(o) != "ascending" {
				b.WriteString(`,"order":` + encodeJSON(strings.ToLower(o)))
			}
			n.aliases(b, fm["aliases"], own, false)
			props(b, fm, "name", "type", "doc", "default", "order", "aliases")
			b.WriteByte('}')
		}
		b.WriteByte(']')
		props(b, t, "type", "name", "namespace", "doc", "fields", "aliases")
	case "enum":
		b.WriteString(`,"symbols":` + encodeJSON(t["symbols"]))
		if def, ok := t["default"]; ok {
			b.WriteString(`,"default":` + encodeJSON(def))
		}
		props(b, t, "type", "name", "namespace", "doc", "symbols", "default", "aliases")
	case "fixed":
		b.WriteString(`,"size":` + encodeJSON(t["size"]))
		props(b, t, "type", "name", "namespace", "doc", "size", "aliases")
	}
	n.aliases(b, t["aliases"], own, true)
	b.WriteByte('}')
}

// avroDefault writes a field default; a whole number for a float or
// double field is written as a floating-point literal, as Avro's Java
// printer does.
func avroDefault(typ, def any) string {
	s := encodeJSON(def)
	if m, ok := typ.(map[string]any); ok {
		typ = m["type"]
	}
	if u, ok := typ.([]any); ok && len(u) > 0 {
		typ = u[0]
	}
	if (typ == "float" || typ == "double") && !strings.ContainsAny(s, ".eE\"") && s != "null" {
		s += ".0"
	}
	return s
}
