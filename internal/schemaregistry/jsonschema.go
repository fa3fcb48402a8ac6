package schemaregistry

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonFormat parses and validates JSON Schemas (any draft) with
// santhosh-tekuri/jsonschema. No library checks compatibility between two
// JSON Schemas, so those rules are here, after the reference's documented
// ones: a reader must accept every document the writer accepts.
type jsonFormat struct{}

const jsonBase = "mem://schemas/"

func (jsonFormat) parse(text string, deps []dep, normalize bool) (any, string, error) {
	stored, err := jsonSyntax(text)
	if err != nil {
		return nil, "", err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(stored))
	if err != nil {
		return nil, "", err
	}
	c := jsonschema.NewCompiler()
	for _, d := range deps {
		ddoc, err := jsonschema.UnmarshalJSON(strings.NewReader(d.text))
		if err != nil {
			return nil, "", fmt.Errorf("reference %q: %w", d.name, err)
		}
		if err := c.AddResource(jsonBase+d.name, ddoc); err != nil {
			return nil, "", fmt.Errorf("reference %q: %w", d.name, err)
		}
	}
	const main = jsonBase + "__subject__.json"
	if err := c.AddResource(main, doc); err != nil {
		return nil, "", err
	}
	if _, err := c.Compile(main); err != nil {
		return nil, "", err
	}
	if normalize {
		// The reference's JSON Schema normalization: object keys sorted,
		// at every depth.
		v, err := decodeJSON(stored)
		if err != nil {
			return nil, "", err
		}
		stored = encodeJSON(v)
	}
	return doc, stored, nil
}

func (jsonFormat) incompatible(reader, writer any) []string {
	var out []string
	jsonCompat("#", reader, writer, &out)
	return out
}

// jsonCompat appends why some document valid under writer can be invalid
// under reader, at path.
func jsonCompat(path string, reader, writer any, out *[]string) {
	add := func(kind, format string, a ...any) {
		*out = append(*out, fmt.Sprintf("{errorType:'%s', description:'at %s: %s'}", kind, path, fmt.Sprintf(format, a...)))
	}
	r, rok := reader.(map[string]any)
	w, wok := writer.(map[string]any)
	if reader == true || (rok && len(r) == 0) {
		return // the reader accepts anything
	}
	if reader == false {
		add("SCHEMA_NARROWED", "the reader accepts nothing")
		return
	}
	if !rok || !wok {
		if writer == true || (wok && len(w) == 0) {
			add("SCHEMA_NARROWED", "the writer accepted anything")
		}
		return
	}
	if ref, ok := r["$ref"]; ok {
		if w["$ref"] != ref {
			add("REFERENCE_CHANGED", "$ref %v replaces %v", ref, w["$ref"])
		}
		return
	}
	rt, wt := jsonTypes(r), jsonTypes(w)
	if rt != nil {
		if wt == nil {
			add("TYPE_NARROWED", "type %v now required", rt)
		} else {
			for _, t := range wt {
				if !slices.Contains(rt, t) && !(t == "integer" && slices.Contains(rt, "number")) {
					add("TYPE_CHANGED", "type %s no longer allowed (now %v)", t, rt)
				}
			}
		}
	}
	if re, ok := r["enum"].([]any); ok {
		we, _ := w["enum"].([]any)
		if we == nil {
			add("ENUM_ARRAY_NARROWED", "enum added")
		}
		for _, v := range we {
			if !slices.ContainsFunc(re, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
				add("ENUM_ARRAY_NARROWED", "enum value %v removed", v)
			}
		}
	}
	for _, k := range []string{"maxLength", "maxItems", "maxProperties", "maximum"} {
		if rv, ok := r[k].(float64); ok {
			if wv, ok := w[k].(float64); !ok || wv > rv {
				add(strings.ToUpper(k)+"_DECREASED", "%s now %v", k, rv)
			}
		}
	}
	for _, k := range []string{"minLength", "minItems", "minProperties", "minimum"} {
		if rv, ok := r[k].(float64); ok {
			if wv, ok := w[k].(float64); !ok || wv < rv {
				add(strings.ToUpper(k)+"_INCREASED", "%s now %v", k, rv)
			}
		}
	}
	// Objects: the content model is open unless additionalProperties is false.
	rp, _ := r["properties"].(map[string]any)
	wp, _ := w["properties"].(map[string]any)
	wOpen := w["additionalProperties"] != false
	rOpen := r["additionalProperties"] != false
	for _, name := range sortedKeys(rp) {
		if ws, ok := wp[name]; ok {
			jsonCompat(path+"/properties/"+name, rp[name], ws, out)
		} else if wOpen && !acceptsAll(rp[name]) {
			// Old documents may carry name with any value.
			add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "property %s added to an open content model", name)
		}
	}
	for _, name := range sortedKeys(wp) {
		if _, ok := rp[name]; !ok && !rOpen {
			add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "property %s removed from a closed content model", name)
		}
	}
	if wOpen && !rOpen {
		add("ADDITIONAL_PROPERTIES_REMOVED", "additionalProperties now false")
	}
	rreq, wreq := stringsOf(r["required"]), stringsOf(w["required"])
	for _, name := range rreq {
		if !slices.Contains(wreq, name) {
			add("REQUIRED_PROPERTY_ADDED", "property %s now required", name)
		}
	}
	if ri, ok := r["items"]; ok {
		wi, ok := w["items"]
		if !ok {
			wi = true
		}
		jsonCompat(path+"/items", ri, wi, out)
	}
}

func acceptsAll(s any) bool {
	m, ok := s.(map[string]any)
	return s == true || ok && len(m) == 0
}

func jsonTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		return stringsOf(t)
	}
	return nil
}

func stringsOf(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
