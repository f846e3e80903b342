# The kill as a Terraform action (Terraform 1.14 and later): run it on demand with
#   terraform apply -invoke=action.ncloud_dataforest_aiapp_kill.stop_etl
# or let a resource trigger it, as `terraform_data.release` does after it is created.

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

action "ncloud_dataforest_aiapp_kill" "stop_etl" {
  config {
    app_id               = var.app_id
    wait_for_termination = true
  }
}

# Stands for a release step: creating it stops the old app first.
resource "terraform_data" "release" {
  input = "v2"

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.ncloud_dataforest_aiapp_kill.stop_etl]
    }
  }
}
