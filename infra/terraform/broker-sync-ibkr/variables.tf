variable "image" {
  description = "broker-sync image with a version tag, e.g. viktorbarzin/broker-sync:0.1.0 (never latest)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the CronJob, its data volume, Secret and PrometheusRule."
  type        = string
  default     = "broker-sync"
}

variable "create_namespace" {
  description = "Create the namespace (false when it already exists, e.g. for other broker-sync jobs)."
  type        = bool
  default     = false
}

variable "schedule" {
  description = "Cron schedule, in var.timezone."
  type        = string
  default     = "0 2 * * *"
}

variable "timezone" {
  description = "IANA time zone of the schedule."
  type        = string
  default     = "Europe/London"
}

variable "suspend" {
  description = "Stop scheduling runs (e.g. while restoring the journal)."
  type        = bool
  default     = false
}

variable "starting_deadline_seconds" {
  description = "A run that cannot start within this many seconds of its time is skipped."
  type        = number
  default     = 3600
}

variable "active_deadline_seconds" {
  description = "A run still going after this many seconds is stopped."
  type        = number
  default     = 1800
}

variable "backoff_limit" {
  description = "Pod retries of a failed run (broker-sync retries IBKR and Wealthfolio itself)."
  type        = number
  default     = 2
}

variable "ttl_seconds_after_finished" {
  description = "How long finished runs and their logs are kept."
  type        = number
  default     = 259200
}

variable "successful_jobs_history_limit" {
  description = "Successful runs kept."
  type        = number
  default     = 3
}

variable "failed_jobs_history_limit" {
  description = "Failed runs kept."
  type        = number
  default     = 5
}

variable "cpu_request" {
  description = "CPU request of the container."
  type        = string
  default     = "20m"
}

variable "memory_request" {
  description = "Memory request of the container."
  type        = string
  default     = "128Mi"
}

variable "memory_limit" {
  description = "Memory limit of the container."
  type        = string
  default     = "256Mi"
}

variable "pushgateway_url" {
  description = "PUSHGATEWAY_URL: where each run pushes its metrics (empty: no push)."
  type        = string
  default     = "http://prometheus-prometheus-pushgateway.monitoring:9091/metrics"
}

variable "data_claim_name" {
  description = "PersistentVolumeClaim mounted as the data dir (/data), holding the journal."
  type        = string
  default     = "broker-sync-ibkr-data"
}

variable "create_data_claim" {
  description = "Create the data PersistentVolumeClaim (false to use an existing claim named var.data_claim_name)."
  type        = bool
  default     = true
}

variable "data_storage_size" {
  description = "Size of the data PersistentVolumeClaim."
  type        = string
  default     = "1Gi"
}

variable "data_storage_class" {
  description = "StorageClass of the data PersistentVolumeClaim (null: the cluster default)."
  type        = string
  default     = null
}

variable "secret_name" {
  description = "Secret holding the runbook's keys (ibkr_flex_token, wf_password, …)."
  type        = string
  default     = "broker-sync-secrets"
}

variable "create_external_secret" {
  description = "Declare the ExternalSecret that fills var.secret_name from Vault (false when it already exists)."
  type        = bool
  default     = true
}

variable "external_secret_api_version" {
  description = "apiVersion of the External Secrets Operator's ExternalSecret."
  type        = string
  default     = "external-secrets.io/v1"
}

variable "secret_store_kind" {
  description = "Kind of the store the ExternalSecret reads from."
  type        = string
  default     = "ClusterSecretStore"
}

variable "secret_store_name" {
  description = "Name of the (Cluster)SecretStore for Vault's `secret` KV v2 mount."
  type        = string
  default     = "vault-backend"
}

variable "vault_key" {
  description = "Path of the secret inside the store's mount: `broker-sync` for Vault secret/broker-sync."
  type        = string
  default     = "broker-sync"
}

variable "secret_refresh_interval" {
  description = "How often the ExternalSecret re-reads Vault."
  type        = string
  default     = "15m"
}

variable "create_prometheus_rule" {
  description = "Declare the PrometheusRule with the IBKR alerts (needs the Prometheus Operator CRDs)."
  type        = bool
  default     = true
}

variable "prometheus_rule_labels" {
  description = "Extra labels on the PrometheusRule, e.g. the one your Prometheus ruleSelector matches."
  type        = map(string)
  default     = {}
}
