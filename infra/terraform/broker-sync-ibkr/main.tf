# broker-sync-ibkr: `broker-sync sync` every night at 02:00 Europe/London, with its data volume,
# its credentials from Vault (ExternalSecret) and its alerts (PrometheusRule).
# The plain manifests in infra/k8s declare the same; tests/infra/manifests_test.ts compares them.

locals {
  labels = {
    "app.kubernetes.io/name"      = "broker-sync"
    "app.kubernetes.io/component" = "ibkr"
  }

  # Plain values. Everything broker-sync writes is under /data (TMPDIR too, set by the image).
  env_values = {
    BROKER_SYNC_DATA_DIR = "/data"
    WF_SESSION_PATH      = "/data/wealthfolio-session.json"
    PUSHGATEWAY_URL      = var.pushgateway_url
  }

  # From the Secret, by the key names of the runbook (docs/providers/ibkr.md). Optional keys are
  # the ones some deployments do not have: one account (ibkr_account_id) or several
  # (ibkr_accounts), a Wealthfolio without a password; a required one missing stops the pod.
  env_secrets = {
    IBKR_FLEX_TOKEN          = { key = "ibkr_flex_token", optional = false }
    IBKR_FLEX_QUERY_ID       = { key = "ibkr_flex_query_id", optional = false }
    IBKR_FLEX_TOKEN_EXPIRES  = { key = "ibkr_flex_token_expires", optional = true }
    IBKR_ACCOUNT_ID_UPSTREAM = { key = "ibkr_account_id_upstream", optional = false }
    IBKR_ACCOUNT_ID          = { key = "ibkr_account_id", optional = true }
    IBKR_ACCOUNTS            = { key = "ibkr_accounts", optional = true }
    WF_BASE_URL              = { key = "wf_base_url", optional = false }
    WF_PASSWORD              = { key = "wf_password", optional = true }
  }

  # The one definition of the alerts, also tested by promtool and used by infra/k8s.
  alert_rules = yamldecode(file("${path.module}/../../alerts/ibkr.rules.yaml"))
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = { "app.kubernetes.io/name" = "broker-sync" }
  }
}

resource "kubernetes_persistent_volume_claim_v1" "data" {
  count = var.create_data_claim ? 1 : 0

  metadata {
    name      = var.data_claim_name
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = var.data_storage_class

    resources {
      requests = { storage = var.data_storage_size }
    }
  }

  # With WaitForFirstConsumer storage the claim binds only when the first run starts.
  wait_until_bound = false

  depends_on = [kubernetes_namespace_v1.this]
}

resource "kubernetes_manifest" "external_secret" {
  count = var.create_external_secret ? 1 : 0

  manifest = {
    apiVersion = var.external_secret_api_version
    kind       = "ExternalSecret"
    metadata = {
      name      = var.secret_name
      namespace = var.namespace
      labels    = { "app.kubernetes.io/name" = "broker-sync" }
    }
    spec = {
      refreshInterval = var.secret_refresh_interval
      secretStoreRef = {
        kind = var.secret_store_kind
        name = var.secret_store_name
      }
      target = {
        name           = var.secret_name
        creationPolicy = "Owner"
      }
      # Every key of Vault secret/broker-sync; an absent optional key is simply not in the Secret
      # (a `data` entry per key would fail the whole sync when one is missing).
      dataFrom = [{ extract = { key = var.vault_key } }]
    }
  }

  depends_on = [kubernetes_namespace_v1.this]
}

resource "kubernetes_cron_job_v1" "ibkr" {
  metadata {
    name      = "broker-sync-ibkr"
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    schedule = var.schedule
    # The provider's name for the CronJob's spec.timeZone.
    timezone = var.timezone
    suspend  = var.suspend
    # One run at a time: the journal has a run lock, and IBKR allows 10 calls a minute per token.
    concurrency_policy            = "Forbid"
    starting_deadline_seconds     = var.starting_deadline_seconds
    successful_jobs_history_limit = var.successful_jobs_history_limit
    failed_jobs_history_limit     = var.failed_jobs_history_limit

    job_template {
      metadata {
        labels = local.labels
      }

      spec {
        # broker-sync retries IBKR and Wealthfolio itself; a pod retry is for a lost node, and a
        # fatal error (an expired token) must not be repeated many times.
        backoff_limit              = var.backoff_limit
        active_deadline_seconds    = var.active_deadline_seconds
        ttl_seconds_after_finished = var.ttl_seconds_after_finished

        template {
          metadata {
            labels = local.labels
          }

          spec {
            # Never: a failed pod stays for `kubectl logs`; a retry is a new pod.
            restart_policy                  = "Never"
            automount_service_account_token = false

            security_context {
              run_as_non_root        = true
              run_as_user            = 65532
              run_as_group           = 65532
              fs_group               = 65532
              fs_group_change_policy = "OnRootMismatch"

              seccomp_profile {
                type = "RuntimeDefault"
              }
            }

            container {
              name  = "broker-sync"
              image = var.image
              args  = ["sync"]

              dynamic "env" {
                for_each = local.env_values
                content {
                  name  = env.key
                  value = env.value
                }
              }

              dynamic "env" {
                for_each = local.env_secrets
                content {
                  name = env.key
                  value_from {
                    secret_key_ref {
                      name     = var.secret_name
                      key      = env.value.key
                      optional = env.value.optional
                    }
                  }
                }
              }

              resources {
                requests = {
                  cpu    = var.cpu_request
                  memory = var.memory_request
                }
                limits = {
                  memory = var.memory_limit
                }
              }

              security_context {
                allow_privilege_escalation = false
                read_only_root_filesystem  = true

                capabilities {
                  drop = ["ALL"]
                }
              }

              volume_mount {
                name       = "data"
                mount_path = "/data"
              }
            }

            volume {
              name = "data"
              persistent_volume_claim {
                claim_name = var.data_claim_name
              }
            }
          }
        }
      }
    }
  }

  lifecycle {
    # Kyverno's admission webhook sets dns_config (ndots) on every pod; do not fight it.
    ignore_changes = [spec[0].job_template[0].spec[0].template[0].spec[0].dns_config]
  }

  depends_on = [kubernetes_persistent_volume_claim_v1.data, kubernetes_namespace_v1.this]
}

resource "kubernetes_manifest" "prometheus_rule" {
  count = var.create_prometheus_rule ? 1 : 0

  manifest = {
    apiVersion = "monitoring.coreos.com/v1"
    kind       = "PrometheusRule"
    metadata = {
      name      = "broker-sync-ibkr"
      namespace = var.namespace
      labels    = merge(local.labels, var.prometheus_rule_labels)
    }
    spec = local.alert_rules
  }

  depends_on = [kubernetes_namespace_v1.this]
}
