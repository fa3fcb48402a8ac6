package config

import "testing"

// The Confluent Server topic keys for broker-side schema validation: known
// topic keys, boolean, off by default, resolved into Topic.
func TestSchemaValidationKeys(t *testing.T) {
	for _, key := range []string{"confluent.value.schema.validation", "confluent.key.schema.validation"} {
		if !IsTopicKey(key) {
			t.Fatalf("%s is not a topic key", key)
		}
		if err := ValidateTopicOverrides(map[string]string{key: "true"}); err != nil {
			t.Errorf("%s=true: %v", key, err)
		}
		if err := ValidateTopicOverrides(map[string]string{key: "yes"}); err == nil {
			t.Errorf("%s=yes accepted", key)
		}
	}
	b := mustBroker(t, nil)
	if got := b.ResolveTopic(nil); got.ConfluentValueSchemaValidation || got.ConfluentKeySchemaValidation {
		t.Errorf("defaults on: %+v", got)
	}
	got := b.ResolveTopic(map[string]string{"confluent.value.schema.validation": "TRUE", "confluent.key.schema.validation": "true"})
	if !got.ConfluentValueSchemaValidation || !got.ConfluentKeySchemaValidation {
		t.Errorf("overrides not applied: value %v key %v", got.ConfluentValueSchemaValidation, got.ConfluentKeySchemaValidation)
	}
}
