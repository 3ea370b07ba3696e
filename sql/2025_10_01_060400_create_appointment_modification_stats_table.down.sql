DROP TABLE `appointment_modification_stats`;
