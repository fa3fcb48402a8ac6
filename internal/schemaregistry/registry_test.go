package schemaregistry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

const userV1 = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"name","type":"string"}]}`
const userV2 = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`

func TestFranzSRClient(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	cl := srClient(t, reg.URL)
	ctx := context.Background()

	ss, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userV1})
	if err != nil {
		t.Fatal(err)
	}
	if ss.ID != 1 || ss.Version != 1 || ss.Subject != "users-value" {
		t.Fatalf("created %+v", ss)
	}
	// Same schema twice: same id, no new version.
	again, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userV1})
	if err != nil || again.ID != ss.ID || again.Version != 1 {
		t.Fatalf("again %+v %v", again, err)
	}
	// The same schema in another subject keeps its id.
	other, err := cl.CreateSchema(ctx, "other-value", sr.Schema{Schema: userV1})
	if err != nil || other.ID != ss.ID {
		t.Fatalf("other %+v %v", other, err)
	}
	res, err := cl.CheckCompatibility(ctx, "users-value", -1, sr.Schema{Schema: userV2})
	if err != nil || !res.Is {
		t.Fatalf("compat %+v %v", res, err)
	}
	v2, err := cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: userV2})
	if err != nil || v2.ID != 2 || v2.Version != 2 {
		t.Fatalf("v2 %+v %v", v2, err)
	}
	got, err := cl.LookupSchema(ctx, "users-value", sr.Schema{Schema: userV2})
	if err != nil || got.ID != 2 || got.Version != 2 {
		t.Fatalf("lookup %+v %v", got, err)
	}
	text, err := cl.SchemaTextByID(ctx, 1)
	if err != nil || text != userV1 {
		t.Fatalf("text %q %v", text, err)
	}
	vs, err := cl.SubjectVersions(ctx, "users-value")
	if err != nil || fmt.Sprint(vs) != "[1 2]" {
		t.Fatalf("versions %v %v", vs, err)
	}
	subs, err := cl.Subjects(ctx)
	if err != nil || fmt.Sprint(subs) != "[other-value users-value]" {
		t.Fatalf("subjects %v %v", subs, err)
	}
	// Incompatible: a new field without a default under BACKWARD.
	bad := `{"type":"record","name":"User","namespace":"t","fields":[{"name":"name","type":"string"},{"name":"x","type":"int"}]}`
	_, err = cl.CreateSchema(ctx, "users-value", sr.Schema{Schema: bad})
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != 409 || !strings.Contains(re.Message, "incompatible") {
		t.Fatalf("incompatible: %v", err)
	}
	// Soft delete, then permanent.
	if _, err := cl.DeleteSubject(ctx, "other-value", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteSubject(ctx, "other-value", sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	subs, _ = cl.Subjects(ctx)
	if fmt.Sprint(subs) != "[users-value]" {
		t.Fatalf("after delete %v", subs)
	}
	// The id stays served while users-value v1 uses it.
	if _, err := cl.SchemaByID(ctx, 1); err != nil {
		t.Fatal(err)
	}
	types, err := cl.SupportedTypes(ctx)
	if err != nil || len(types) == 0 {
		t.Fatalf("types %v %v", types, err)
	}
}

func TestRestartReloads(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	cl := srClient(t, reg.URL)
	ctx := context.Background()
	if _, err := cl.CreateSchema(ctx, "a", sr.Schema{Schema: userV1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(ctx, "a", sr.Schema{Schema: userV2}); err != nil {
		t.Fatal(err)
	}
	if r := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "a"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if err := cl.DeleteSchema(ctx, "a", 1, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	reg.stop()

	reg2 := startRegistry(t, b.Addr)
	cl2 := srClient(t, reg2.URL)
	vs, err := cl2.SubjectVersions(ctx, "a")
	if err != nil || fmt.Sprint(vs) != "[2]" {
		t.Fatalf("versions after restart %v %v", vs, err)
	}
	if c := cl2.Compatibility(ctx, "a"); c[0].Err != nil || c[0].Level != sr.CompatFull {
		t.Fatalf("config after restart %+v", c[0])
	}
	ss, err := cl2.CreateSchema(ctx, "b", sr.Schema{Schema: `"string"`})
	if err != nil || ss.ID != 3 {
		t.Fatalf("next id after restart %+v %v", ss, err)
	}
}

func TestTwoInstancesUniqueIDs(t *testing.T) {
	b := newBroker(t)
	regs := []*testRegistry{startRegistry(t, b.Addr), startRegistry(t, b.Addr)}
	ctx := context.Background()
	if r := srClient(t, regs[0].URL).SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	const n = 15
	type result struct {
		subject, schema string
		id              int
	}
	results := make(chan result, 4*n)
	var wg sync.WaitGroup
	for i, reg := range regs {
		cl := srClient(t, reg.URL)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range n {
					// Distinct schemas per writer, plus one schema
					// every writer registers in a shared subject.
					schema := fmt.Sprintf(`{"type":"fixed","name":"f%d_%d_%d","size":1}`, i, w, k)
					subject := fmt.Sprintf("s%d", k%3)
					if k%5 == 0 {
						schema = fmt.Sprintf(`{"type":"fixed","name":"shared%d","size":1}`, k)
					}
					id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema}, -1, -1)
					if err != nil {
						t.Error(err)
						return
					}
					results <- result{subject, schema, id}
				}
			}()
		}
	}
	wg.Wait()
	close(results)
	bySchema := map[string]int{}
	byID := map[int]string{}
	for r := range results {
		if id, ok := bySchema[r.schema]; ok && id != r.id {
			t.Errorf("schema %s got ids %d and %d", r.schema, id, r.id)
		}
		if s, ok := byID[r.id]; ok && s != r.schema {
			t.Errorf("id %d given to %s and %s", r.id, s, r.schema)
		}
		bySchema[r.schema], byID[r.id] = r.id, r.schema
	}
	// Both instances agree on every id and every subject's versions.
	for _, reg := range regs {
		if err := reg.catchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for id, schema := range byID {
		for _, reg := range regs {
			text, err := srClient(t, reg.URL).SchemaTextByID(ctx, id)
			if err != nil || text != schema {
				t.Errorf("instance %s id %d: %q %v, want %q", reg.URL, id, text, err, schema)
			}
		}
	}
	for k := range 3 {
		subject := fmt.Sprintf("s%d", k)
		a, _ := srClient(t, regs[0].URL).Schemas(ctx, subject)
		c, _ := srClient(t, regs[1].URL).Schemas(ctx, subject)
		if fmt.Sprint(a) != fmt.Sprint(c) {
			t.Errorf("subject %s differs:\n%v\n%v", subject, a, c)
		}
	}
}
