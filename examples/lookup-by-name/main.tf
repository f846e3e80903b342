# Kill an app by the name you know: look it up in the account, then kill the one match (`one()`
# fails the plan if the name matches no app or several). The look-up keeps finding the app after
# it is killed, so later plans stay quiet; filter on `state = "RUNNING"` only where nothing
# depends on the app afterwards, such as an action's configuration.

terraform {
  required_providers {
    ncloud = {
      source = "ncloud-dataforest/ncloud"
    }
  }
}

provider "ncloud" {}

variable "account_id" {
  description = "The DataForest account that runs the app."
  type        = string
  default     = "df-account"
}

variable "app_name" {
  description = "The app's name."
  type        = string
  default     = "nightly-etl"
}

data "ncloud_dataforest_aiapps" "running" {
  account_id = var.account_id
  name       = var.app_name
}

resource "ncloud_dataforest_aiapp_kill" "by_name" {
  app_id = one(data.ncloud_dataforest_aiapps.running.apps).id
}

output "killed" {
  value = {
    id      = ncloud_dataforest_aiapp_kill.by_name.id
    message = ncloud_dataforest_aiapp_kill.by_name.message
  }
}
