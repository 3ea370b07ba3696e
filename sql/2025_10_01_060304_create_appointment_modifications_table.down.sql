DROP TABLE `appointment_modifications`;
