# A teardown pipeline's kill: `terraform apply` records the intent and calls nothing;
# `terraform destroy` force-ends the app and waits until DataForest reports it ended. A failed
# kill fails the destroy and keeps the resource, so the next destroy tries again.

terraform {
  required_providers {
    ncloud = {
      source = "ncloud-dataforest/ncloud"
    }
  }
}

provider "ncloud" {
  max_retries     = 6
  request_timeout = "20s"
}

variable "app_id" {
  description = "The DataForest AI app to force-end at teardown."
  type        = string
  default     = "Ab12Cd34Ef56"
}

resource "ncloud_dataforest_aiapp_kill" "teardown" {
  app_id               = var.app_id
  when                 = "destroy"
  wait_for_termination = true

  timeouts {
    delete = "10m"
  }
}
