;; Freeze every layer whose name matches a pattern, except the current one.
(defun c:FRZPAT (/ pat lay name)
  (setq pat (strcase (getstring "\nLayer pattern (e.g. DIM*): ")))
  (setq lay (tblnext "LAYER" T))
  (while lay
    (setq name (cdr (assoc 2 lay)))
    (if (and (wcmatch (strcase name) pat) (/= (strcase name) (strcase (getvar "CLAYER"))))
      (command "_.-LAYER" "_F" name "")
    )
    (setq lay (tblnext "LAYER"))
  )
  (princ)
)
