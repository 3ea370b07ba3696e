-- Audit trail of cancellations and reschedules (30-day rolling window, policy
-- compliance), soft delete. modified_by_* is polymorphic (user, staff UUID, system).
CREATE TABLE `appointment_modifications` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `appointment_id` bigint unsigned NOT NULL,
  `customer_id` bigint unsigned NOT NULL,
  `modification_type` enum('cancel','reschedule') NOT NULL,
  `within_policy` tinyint(1) NOT NULL DEFAULT 1,
  `fee_charged` decimal(10,2) NOT NULL DEFAULT 0.00,
  `reason` text NULL DEFAULT NULL,
  `modified_by_type` varchar(255) NULL DEFAULT NULL,
  `modified_by_id` varchar(36) NULL DEFAULT NULL,
  `metadata` json NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  `deleted_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `appointment_modifications_company_customer_type_created_index` (`company_id`, `customer_id`, `modification_type`, `created_at`),
  KEY `appointment_modifications_company_policy_type_index` (`company_id`, `within_policy`, `modification_type`),
  KEY `appointment_modifications_appointment_id_created_at_index` (`appointment_id`, `created_at`),
  KEY `appointment_modifications_customer_id_index` (`customer_id`),
  KEY `appointment_modifications_modified_by_type_modified_by_id_index` (`modified_by_type`, `modified_by_id`),
  CONSTRAINT `appointment_modifications_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,
  CONSTRAINT `appointment_modifications_appointment_id_foreign` FOREIGN KEY (`appointment_id`) REFERENCES `appointments` (`id`) ON DELETE CASCADE,
  CONSTRAINT `appointment_modifications_customer_id_foreign` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
