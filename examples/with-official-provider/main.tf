# Beside NAVER Cloud Platform's official provider, which already has the local name `ncloud` in
# most repositories: give this provider the local name `dataforest`, and set
# `provider = dataforest` on each of its resources and data sources.

terraform {
  required_providers {
    ncloud = {
      source = "NaverCloudPlatform/ncloud"
    }
    dataforest = {
      source = "ncloud-dataforest/ncloud"
    }
  }
}

# The official provider, configured as the repository already does (region, site, ...).
provider "ncloud" {}

# This provider: like the official one, it takes its keys from NCLOUD_ACCESS_KEY and
# NCLOUD_SECRET_KEY unless they are set here.
provider "dataforest" {}

variable "account_id" {
  description = "The DataForest account that runs the app."
  type        = string
  default     = "df-account"
}

variable "app_id" {
  description = "The DataForest AI app to force-end."
  type        = string
  default     = "Ab12Cd34Ef56"
}

data "ncloud_dataforest_aiapps" "account" {
  provider   = dataforest
  account_id = var.account_id
}

resource "ncloud_dataforest_aiapp_kill" "this" {
  provider = dataforest
  app_id   = var.app_id
}

output "apps_in_account" {
  value = length(data.ncloud_dataforest_aiapps.account.apps)
}

output "message" {
  value = ncloud_dataforest_aiapp_kill.this.message
}
