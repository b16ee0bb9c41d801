package awsapi

import (
	"slices"
	"testing"
)

func TestPaginate(t *testing.T) {
	items := []int{1, 2, 3, 4, 5}
	var got []int
	token := ""
	for pages := 0; ; pages++ {
		page, next, ok := Paginate(items, 2, token, "List")
		if !ok || pages > 3 {
			t.Fatalf("page %d: ok=%v", pages, ok)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(got, items) {
		t.Fatalf("pages gave %v", got)
	}
	_, next, _ := Paginate(items, 2, "", "List")
	for _, bad := range []string{"zz", next + "00", "4c6973743a2d31"} { // not hex; another offset text; "List:-1"
		if _, _, ok := Paginate(items, 2, bad, "List"); ok {
			t.Errorf("token %q accepted", bad)
		}
	}
	if _, _, ok := Paginate(items, 2, next, "Other"); ok {
		t.Error("a token of another operation accepted")
	}
}
