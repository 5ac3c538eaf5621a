output "cron_job_name" {
  description = "Name of the CronJob (kubectl create job --from=cronjob/<name> runs it now)."
  value       = kubernetes_cron_job_v1.ibkr.metadata[0].name
}

output "namespace" {
  description = "Namespace of everything this module declares."
  value       = var.namespace
}

output "data_claim_name" {
  description = "PersistentVolumeClaim holding the journal."
  value       = var.data_claim_name
}

output "secret_name" {
  description = "Secret the CronJob reads its credentials from."
  value       = var.secret_name
}
