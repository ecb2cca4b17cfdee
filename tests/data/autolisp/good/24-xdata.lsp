;; Attach a note as extended data and read it back.
(defun c:NOTEX (/ ent note ed)
  (regapp "MYNOTES")
  (if (setq ent (car (entsel "\nObject: ")))
    (progn
      (setq note (getstring T "\nNote: "))
      (setq ed (entget ent))
      (entmod (append ed (list (list -3 (list "MYNOTES" (cons 1000 note))))))
      (princ (cdr (assoc -3 (entget ent '("MYNOTES")))))
    )
  )
  (princ)
)
