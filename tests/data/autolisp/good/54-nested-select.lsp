(defun c:NLAYER (/ sel ed)
  (if (setq sel (nentsel "\nPick an object inside a block: "))
    (progn
      (setq ed (entget (car sel)))
      (princ (strcat "\nLayer: " (cdr (assoc 8 ed)) ", type: " (cdr (assoc 0 ed))))
    )
  )
  (princ)
)
