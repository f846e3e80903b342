# Force-end one DataForest AI app and keep DataForest's answer in state.
#
# Credentials come from NCLOUD_ACCESS_KEY / NCLOUD_SECRET_KEY (or ~/.ncloud/configure); to try it
# offline, point NCLOUD_DATAFOREST_ENDPOINT at a running `dataforest-sim`.

terraform {
  required_providers {
    ncloud = {
      source = "ncloud-dataforest/ncloud"
    }
  }
}

provider "ncloud" {}

variable "app_id" {
  description = "The DataForest AI app to force-end."
  type        = string
  default     = "Ab12Cd34Ef56"
}

resource "ncloud_dataforest_aiapp_kill" "this" {
  app_id = var.app_id
}

output "success" {
  value = ncloud_dataforest_aiapp_kill.this.success
}

output "message" {
  value = ncloud_dataforest_aiapp_kill.this.message
}

output "killed_at" {
  value = ncloud_dataforest_aiapp_kill.this.killed_at
}
