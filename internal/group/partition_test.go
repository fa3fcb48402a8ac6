package group

import "testing"

func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		n     int32
		want  int32
	}{
		{"", 50, 0},
		{"hello", 50, 99162322 % 50},  // "hello".hashCode() == 99162322
		{"polygenelubricants", 50, 0}, // hashCode() == Integer.MIN_VALUE; Utils.abs maps it to 0
		{"Aa", 7, 2112 % 7},           // "Aa" and "BB" collide in Java
		{"BB", 7, 2112 % 7},
		{"héllo", 50, 103094734 % 50}, // non-ASCII: hashed as UTF-16 code units
	} {
		if got := PartitionFor(tc.group, tc.n); got != tc.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", tc.group, tc.n, got, tc.want)
		}
	}
}
