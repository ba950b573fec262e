package delivery

import (
	"slices"
	"testing"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Profile
		want []string
	}{
		{ProfileFivetran, []string{
			"connection_failure", "connection_successful", "create_connector",
			"dbt_run_failed", "dbt_run_start", "dbt_run_succeeded", "delete_connector",
			"edit_connector", "force_update_connector", "pause_connector", "resume_connector",
			"resync_connector", "resync_table", "status", "sync_end", "sync_start",
			"transformation_run_failed", "transformation_run_start", "transformation_run_succeeded",
		}},
		{"", nil}, // filled below: the empty profile is Fivetran
		{ProfilePortable, []string{"sync_end", "sync_start", "test"}},
		{"stitch", nil},
	} {
		t.Run(string(tc.p), func(t *testing.T) {
			t.Parallel()
			want := tc.want
			if tc.p == "" {
				want = Catalog(ProfileFivetran)
			}
			got := Catalog(tc.p)
			if !slices.Equal(got, want) {
				t.Fatalf("Catalog(%q) = %q, want %q", tc.p, got, want)
			}
			for _, e := range want {
				if !tc.p.HasEvent(e) {
					t.Errorf("HasEvent(%q) = false", e)
				}
			}
			for _, e := range []string{"test_event", "", "SYNC_END", "sync_end "} {
				if tc.p.HasEvent(e) {
					t.Errorf("HasEvent(%q) = true", e)
				}
			}
			if got != nil {
				got[0] = "mutated"
				if Catalog(tc.p)[0] == "mutated" {
					t.Error("Catalog returned its internal slice")
				}
			}
		})
	}
	if ProfilePortable.HasEvent("status") || !ProfileFivetran.HasEvent("status") {
		t.Error("status must be Fivetran-only")
	}
	if ProfileFivetran.HasEvent("test") {
		t.Error("test must be Portable-only")
	}
}

func TestSyncEndStatuses(t *testing.T) {
	t.Parallel()
	want := []string{"SUCCESSFUL", "FAILURE", "FAILURE_WITH_TASK", "RESCHEDULED", "FAILED"}
	if !slices.Equal(SyncEndStatuses, want) {
		t.Fatalf("SyncEndStatuses = %q, want %q", SyncEndStatuses, want)
	}
	for _, s := range want {
		if !ValidSyncEndStatus(s) {
			t.Errorf("ValidSyncEndStatus(%q) = false", s)
		}
	}
	for _, s := range []string{"", "successful", "SUCCESS"} {
		if ValidSyncEndStatus(s) {
			t.Errorf("ValidSyncEndStatus(%q) = true", s)
		}
	}
}

func TestProfileSucceeded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status             int
		fivetran, portable bool
	}{
		{0, false, false}, {199, false, false}, {200, true, true}, {201, true, false},
		{204, true, false}, {299, true, false}, {302, false, false}, {500, false, false},
	} {
		if got := ProfileFivetran.Succeeded(tc.status); got != tc.fivetran {
			t.Errorf("fivetran Succeeded(%d) = %v", tc.status, got)
		}
		if got := ProfilePortable.Succeeded(tc.status); got != tc.portable {
			t.Errorf("portable Succeeded(%d) = %v", tc.status, got)
		}
	}
}
