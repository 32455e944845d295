package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestUserDataCRUD(t *testing.T) { eachStore(t, testUserDataCRUD) }

func testUserDataCRUD(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	if all, err := db.UserDatas(ctx); err != nil || all == nil || len(all) != 0 {
		t.Fatalf("empty store: %#v, %v; want an empty list", all, err)
	}
	u := UserData{Name: "web", Selector: map[string]string{"role": "web"}, Body: "#cloud-config\npackages: [nginx]\n"}
	v1, created, err := db.PutUserData(ctx, u, 0, "test")
	if err != nil || !created || v1.Version == 0 || v1.CreatedAt.IsZero() || v1.Body != u.Body {
		t.Fatalf("put = %+v, %v, %v", v1, created, err)
	}
	same, created, err := db.PutUserData(ctx, u, 0, "test")
	if err != nil || created || same.Version != v1.Version {
		t.Fatalf("storing the same part again = %+v, %v, %v; want no new version", same, created, err)
	}
	u.Body += "runcmd: [true]\n"
	v2, created, err := db.PutUserData(ctx, u, v1.Version, "test")
	if err != nil || created || v2.Version <= v1.Version || !v2.CreatedAt.Equal(v1.CreatedAt) {
		t.Fatalf("replace = %+v, %v, %v; want a higher version, same creation time", v2, created, err)
	}
	if _, _, err := db.PutUserData(ctx, u, v1.Version, "test"); !errors.Is(err, ErrConflict) {
		t.Fatalf("put against a stale version: %v, want ErrConflict", err)
	}
	if _, _, err := db.PutUserData(ctx, UserData{Name: "new", Body: "x"}, 7, "test"); !errors.Is(err, ErrConflict) {
		t.Fatalf("put of a new part against a version: %v, want ErrConflict", err)
	}
	if got, err := db.UserData(ctx, "web"); err != nil || got.Version != v2.Version || got.Body != u.Body || got.Selector["role"] != "web" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	db.PutUserData(ctx, UserData{Name: "all-racks", Selector: map[string]string{"rack": "r1"}, Body: "#cloud-config\n"}, 0, "test")
	if all, _ := db.UserDatas(ctx); len(all) != 2 || all[0].Name != "all-racks" || all[1].Name != "web" {
		t.Fatalf("list = %+v, want both, ordered by name", all)
	}
	for _, c := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"role": "web", "rack": "r1"}, "all-racks,web"},
		{map[string]string{"role": "web"}, "web"},
		{map[string]string{"role": "db"}, ""},
		{nil, ""},
	} {
		got, err := db.UserDataFor(ctx, c.labels)
		var names []string
		for _, u := range got {
			names = append(names, u.Name)
		}
		if err != nil || strings.Join(names, ",") != c.want {
			t.Errorf("for %v: %v, %v; want %q", c.labels, names, err, c.want)
		}
	}
	if err := db.DeleteUserData(ctx, "web", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserData(ctx, "web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := db.DeleteUserData(ctx, "web", "test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := db.UserData(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get of an unknown part: %v", err)
	}
}

func TestUserDataValidation(t *testing.T) { eachStore(t, testUserDataValidation) }

func testUserDataValidation(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	for name, u := range map[string]UserData{
		"bad name":         {Name: "Web Server"},
		"empty name":       {},
		"bad selector key": {Name: "a", Selector: map[string]string{"a b": "x"}},
		"huge body":        {Name: "a", Body: strings.Repeat("x", MaxUserDataBytes+1)},
	} {
		if _, _, err := db.PutUserData(context.Background(), u, 0, "test"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if all, _ := db.UserDatas(context.Background()); len(all) != 0 {
		t.Fatalf("refused parts were stored: %+v", all)
	}
}
