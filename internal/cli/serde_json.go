package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON Schema: the payload is the JSON document itself (compacted), checked
// against the schema with santhosh-tekuri/jsonschema before it is produced.

type jsonSchemaCodec struct {
	schema *jsonschema.Schema
}

const jsonSchemaBase = "mem://samsa/"

func newJSONSchemaCodec(text string, refs []schemaRef) (*jsonSchemaCodec, error) {
	c := jsonschema.NewCompiler()
	for _, r := range refs {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.text))
		if err != nil {
			return nil, fmt.Errorf("reference %s: %w", r.name, err)
		}
		if err := c.AddResource(jsonSchemaBase+r.name, doc); err != nil {
			return nil, fmt.Errorf("reference %s: %w", r.name, err)
		}
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	const main = jsonSchemaBase + "__schema__.json"
	if err := c.AddResource(main, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(main)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	return &jsonSchemaCodec{schema: s}, nil
}

func (c *jsonSchemaCodec) encode(doc []byte) ([]byte, error) {
	if _, err := parseJSON(doc); err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if err := c.schema.Validate(inst); err != nil {
		return nil, jsonSchemaErr(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	return buf.Bytes(), nil
}

func (c *jsonSchemaCodec) decode(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// jsonSchemaErr is a validation error in one line: where in the document
// and what, for each leaf cause.
func jsonSchemaErr(err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return errors.New(oneLine(err.Error()))
	}
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			parts = append(parts, oneLine(e.Error())) // at '/path': what
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(parts) // the library's order of causes varies
	return fmt.Errorf("does not match the schema: %s", strings.Join(parts, "; "))
}
