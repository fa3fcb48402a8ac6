package schemaregistry

import (
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
)

// avroFormat parses with hamba/avro and checks compatibility with its
// SchemaCompatibility, which follows the Avro specification's schema
// resolution rules, as Confluent's Avro checks do.
type avroFormat struct{}

func (avroFormat) parse(text string, deps []dep, normalize bool) (any, string, error) {
	stored, err := jsonSyntax(text)
	if err != nil {
		return nil, "", err
	}
	// A fresh cache per parse: avro.Parse's global cache would let one
	// subject's named types leak into another's schemas.
	cache := &avro.SchemaCache{}
	for _, d := range deps {
		if _, err := avro.ParseWithCache(d.text, "", cache); err != nil {
			return nil, "", fmt.Errorf("reference %q: %w", d.name, err)
		}
	}
	s, err := avro.ParseWithCache(stored, "", cache)
	if err != nil {
		return nil, "", err
	}
	if normalize {
		texts := make([]string, len(deps))
		for i, d := range deps {
			texts[i] = d.text
		}
		if stored, err = normalizeAvro(stored, texts); err != nil {
			return nil, "", err
		}
	}
	return s, stored, nil
}

func (avroFormat) incompatible(reader, writer any) []string {
	r, w := reader.(avro.Schema), writer.(avro.Schema)
	if err := avro.NewSchemaCompatibility().Compatible(r, w); err != nil {
		msg := strings.TrimPrefix(err.Error(), "avro: ")
		return []string{fmt.Sprintf("{errorType:'READER_INCOMPATIBLE', description:'The schema %s cannot read data written with the schema %s: %s'}",
			short(r.String()), short(w.String()), msg)}
	}
	return nil
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
