DROP TABLE certification_cycles;
DROP TABLE certifications;
DROP TABLE recertification_requirements;
