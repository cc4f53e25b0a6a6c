from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "status", "user", "target", "progress", "attempts", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["source_url", "upload_name", "message", "user__username"]
    raw_id_fields = ["user", "video", "playlist", "parent"]
    readonly_fields = ["created_at", "started_at", "finished_at", "updated_at"]
    list_select_related = ["user"]

    @admin.display(description="Source")
    def target(self, job: Job) -> str:
        return job.upload_name or job.source_url or str(job.video_id or "")
