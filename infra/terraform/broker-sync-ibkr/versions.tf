terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kubernetes = {
      source = "hashicorp/kubernetes"
      # 2.21 added `timezone` to kubernetes_cron_job_v1.
      version = ">= 2.21.0"
    }
  }
}
