# A workspace's destroy hook, in one block: when the workspace is destroyed, every app still
# running in its queue whose name starts with its prefix is killed, apps started after the apply
# included. Up to max_apps of them: if more match, none is killed and the destroy fails, so a
# prefix written wrong cannot empty the account.

terraform {
  required_providers {
    ncloud = {
      source = "ncloud-dataforest/ncloud"
    }
  }
}

provider "ncloud" {}

variable "account_id" {
  description = "The DataForest account the environment runs in."
  type        = string
  default     = "df-account"
}

variable "environment" {
  description = "The environment whose apps go with it."
  type        = string
  default     = "env-42"
}

resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id  = var.account_id
  name_regex  = "^${var.environment}-"
  queue_name  = "gpu"
  when        = "destroy"
  max_apps    = 50
  concurrency = 16

  timeouts {
    delete = "15m"
  }
}

# What a destroy would take now.
data "ncloud_dataforest_aiapps" "would_go" {
  account_id = var.account_id
  name_regex = "^${var.environment}-"
  queue_name = "gpu"
  states     = ["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"]
}

output "would_go" {
  value = data.ncloud_dataforest_aiapps.would_go.ids
}
