;;; Written the old way, in upper case.
(DEFUN C:ZEROZ (/ SS I ED P10 P11)
  (SETQ SS (SSGET '((0 . "LINE"))))
  (IF SS
    (PROGN
      (SETQ I 0)
      (REPEAT (SSLENGTH SS)
        (SETQ ED (ENTGET (SSNAME SS I))
              P10 (CDR (ASSOC 10 ED))
              P11 (CDR (ASSOC 11 ED)))
        (SETQ ED (SUBST (CONS 10 (LIST (CAR P10) (CADR P10) 0.0)) (ASSOC 10 ED) ED))
        (SETQ ED (SUBST (CONS 11 (LIST (CAR P11) (CADR P11) 0.0)) (ASSOC 11 ED) ED))
        (ENTMOD ED)
        (SETQ I (1+ I))
      ) ;_ end repeat
    ) ;_ end progn
  ) ;_ end if
  (PRINC)
) ;_ end defun
