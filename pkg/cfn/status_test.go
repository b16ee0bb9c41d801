package cfn

import "testing"

func TestStackStatusQuestions(t *testing.T) {
	tests := []struct {
		status                                                      StackStatus
		inProgress, rollingBack, failure, recreate, updatable, gone bool
	}{
		{status: "CREATE_IN_PROGRESS", inProgress: true},
		{status: "CREATE_COMPLETE", updatable: true},
		{status: "ROLLBACK_IN_PROGRESS", inProgress: true, rollingBack: true},
		{status: "ROLLBACK_COMPLETE", failure: true, recreate: true},
		{status: "CREATE_FAILED", failure: true, recreate: true},
		{status: "UPDATE_ROLLBACK_IN_PROGRESS", inProgress: true, rollingBack: true},
		{status: "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", inProgress: true, rollingBack: true},
		{status: "UPDATE_ROLLBACK_COMPLETE", failure: true, updatable: true},
		{status: "UPDATE_ROLLBACK_FAILED", failure: true},
		{status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", inProgress: true},
		{status: "DELETE_COMPLETE", gone: true},
		{status: "REVIEW_IN_PROGRESS", gone: true},
		{status: "", gone: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			s := tt.status
			got := []bool{s.InProgress(), s.RollingBack(), s.IsFailure(), s.NeedsRecreate(), s.Updatable(), s.Gone()}
			want := []bool{tt.inProgress, tt.rollingBack, tt.failure, tt.recreate, tt.updatable, tt.gone}
			for i, name := range []string{"InProgress", "RollingBack", "IsFailure", "NeedsRecreate", "Updatable", "Gone"} {
				if got[i] != want[i] {
					t.Errorf("%s() = %v, want %v", name, got[i], want[i])
				}
			}
		})
	}
}
