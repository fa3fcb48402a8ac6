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

// The subject name strategy keys take the class names of Confluent's three
// strategies and default to TopicNameStrategy.
func TestSubjectNameStrategyKeys(t *testing.T) {
	const pkg = "io.confluent.kafka.serializers.subject."
	for _, key := range []string{"confluent.value.subject.name.strategy", "confluent.key.subject.name.strategy"} {
		if !IsTopicKey(key) {
			t.Fatalf("%s is not a topic key", key)
		}
		for _, s := range []string{"TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy"} {
			if err := ValidateTopicOverrides(map[string]string{key: pkg + s}); err != nil {
				t.Errorf("%s=%s: %v", key, s, err)
			}
		}
		err := ValidateTopicOverrides(map[string]string{key: "RecordNameStrategy"})
		want := `invalid value "RecordNameStrategy" for "` + key + `": must be one of: ` +
			pkg + "TopicNameStrategy, " + pkg + "RecordNameStrategy, " + pkg + "TopicRecordNameStrategy"
		if err == nil || err.Error() != want {
			t.Errorf("%s=RecordNameStrategy: %v, want %q", key, err, want)
		}
	}
	b := mustBroker(t, nil)
	got := b.ResolveTopic(nil)
	if got.ConfluentKeySubjectStrategy != pkg+"TopicNameStrategy" || got.ConfluentValueSubjectStrategy != pkg+"TopicNameStrategy" {
		t.Errorf("defaults: key %q value %q", got.ConfluentKeySubjectStrategy, got.ConfluentValueSubjectStrategy)
	}
	got = b.ResolveTopic(map[string]string{"confluent.value.subject.name.strategy": pkg + "RecordNameStrategy",
		"confluent.key.subject.name.strategy": pkg + "TopicRecordNameStrategy"})
	if got.ConfluentValueSubjectStrategy != pkg+"RecordNameStrategy" || got.ConfluentKeySubjectStrategy != pkg+"TopicRecordNameStrategy" {
		t.Errorf("overrides: key %q value %q", got.ConfluentKeySubjectStrategy, got.ConfluentValueSubjectStrategy)
	}
}
